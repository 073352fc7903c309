# The training benchmark (bench/train_bench.c): training steps per second of
# the lab's MLP (64 x 4) and a wider one (256 x 4), batch 1000, CFM; ours in
# float64 and float32 against the same network in PyTorch (CPU) in float64
# and float32, 1 and 2 threads, and the float32 step's roofline (BLIS at the
# step's own shapes + SLEEF's exp rate + Adam's bytes at the copy rate).
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1100,560 font "Sans,10"
set output dir."/train_throughput.png"
set title "Training steps per second, batch 1000 (higher is better); black squares: float32 roofline"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "steps per second"
set key top right
set grid ytics
set boxwidth 0.9
plot dir."/train_bars.tsv" using 2:xtic(1) title "ours float64" lc rgb "#1f77b4", \
     "" using 3 title "ours float32" lc rgb "#17becf", \
     "" using 4 title "PyTorch float64" lc rgb "#ff7f0e", \
     "" using 5 title "PyTorch float32" lc rgb "#2ca02c", \
     "" using ($0):6 with points pt 5 ps 1.5 lc rgb "black" title "roofline (float32)"
