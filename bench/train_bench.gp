# The training benchmark (bench/train_bench.c): training steps per second of
# the lab's MLP (64 x 4) and a wider one (256 x 4), batch 1000, CFM; ours (C,
# BLIS) against the same network in PyTorch (CPU) in float64 and float32.
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1000,520 font "Sans,10"
set output dir."/train_throughput.png"
set title "Training steps per second, batch 1000 (higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "steps per second"
set key top right
set grid ytics
plot dir."/train_bars.tsv" using 2:xtic(1) title "ours (C, BLIS, float64)" lc rgb "#1f77b4", \
     "" using 3 title "PyTorch float64" lc rgb "#ff7f0e", \
     "" using 4 title "PyTorch float32" lc rgb "#2ca02c"
