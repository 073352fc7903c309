# The narrow U-Net against the machine (bench/unet_narrow_bench.c): the
# float32 training step's share of the sgemm roofline of its products, for
# chapter 5's patched network, the 8-channel one it had before and the
# default 32-channel one, on 1 and 2 threads. 1 would be nothing but the products, at BLIS's best sgemm rate.
if (!exists("dir")) dir = "bench/results"
f = dir."/unet_narrow.tsv"
set terminal pngcairo size 900,460 font "Sans,10"
set xtics rotate by -20
set output dir."/unet_narrow.png"
set title "U-Net training step (float32, batch 32): share of the sgemm roofline\np2-c16-12: chapter 5's network; c8-124: its former one; c32-122: the default"
set style fill solid 0.8 border -1
set boxwidth 0.8
set datafile separator "\t"
set ylabel "share of the roofline (1 = the products at BLIS's rate)"
set yrange [0:1.05]
set xrange [-0.8:7.8]
set grid ytics
set key top left
# rows: a comment, the header, then each network on 1 and 2 threads; a gap between networks
x(row) = row + int(row / 2)
plot f skip 2 using (x($0)):($4 == 1 ? $7 : 1/0):xtic(word(strcol(1), 1).", ".strcol(4)." thr.") with boxes lc rgb "#1f77b4" title "1 thread", \
     f skip 2 using (x($0)):($4 == 2 ? $7 : 1/0):xtic(word(strcol(1), 1).", ".strcol(4)." thr.") with boxes lc rgb "#d62728" title "2 threads", \
     f skip 2 using (x($0)):($7 + 0.03):(sprintf("%.2f", $7)) with labels notitle
