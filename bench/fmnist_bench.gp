# The Fashion-MNIST benchmark (bench/fmnist_bench.c): training steps per
# second (batch 128) and images per second sampled with classifier-free
# guidance (midpoint, 25 steps), ours (C, BLIS, float64) against the same
# network in PyTorch (CPU) in float64 and float32, 1 and 2 threads.
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1000,520 font "Sans,10"
set output dir."/fmnist_throughput.png"
set title "Fashion-MNIST flow model: training steps/s and images/s (higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "per second"
set key top right
set grid ytics
plot dir."/fmnist_bars.tsv" using 2:xtic(1) title "ours (C, BLIS, float64)" lc rgb "#1f77b4", \
     "" using 3 title "PyTorch float64" lc rgb "#ff7f0e", \
     "" using 4 title "PyTorch float32" lc rgb "#2ca02c"
