# The U-Net training benchmark (bench/unet_bench.c): images per second of a
# training step (CFM, batch 64, the default 28 x 28 U-Net, 795,105
# parameters), ours in float64 and float32 against the same network in
# PyTorch (CPU) in float64 and float32, 1 and 2 threads; squares: the
# products' rooflines (the step's multiply-adds at BLIS's dgemm and sgemm
# rates, measured in the same run).
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 900,520 font "Sans,10"
set output dir."/unet_throughput.png"
set title "U-Net training step, images per second (higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "images per second"
set yrange [0:*]
set key top left
set grid ytics
plot dir."/unet_bars.tsv" using 2:xtic(1) title "ours float64" lc rgb "#1f77b4", \
     "" using 3 title "ours float32" lc rgb "#17becf", \
     "" using 4 title "PyTorch float64" lc rgb "#ff7f0e", \
     "" using 5 title "PyTorch float32" lc rgb "#2ca02c", \
     "" using ($0 - 0.2):6 with points pt 5 ps 1.5 lc rgb "black" title "roofline, float64 products", \
     "" using ($0 + 0.2):7 with points pt 4 ps 1.5 lc rgb "black" title "roofline, float32 products"
