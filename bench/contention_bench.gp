# The contention benchmark (bench/contention_bench.c): wall time of three
# jobs -- the lab's training, guided sampling of a trained-size model, RK4 on
# the exact field -- on 1 thread and on the default count, on a quiet machine
# and beside as many busy processes as there are CPUs (median of 3 runs).
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1000,520 font "Sans,10"
set output dir."/contention.png"
set title "Threads on a busy machine: seconds per job (lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "seconds (median of 3)"
set yrange [0:*]
set key top left
set grid ytics
plot dir."/contention_bars.tsv" using 2:xtic(1) title "quiet, 1 thread" lc rgb "#9ecae1", \
     "" using 3 title "quiet, default threads" lc rgb "#3182bd", \
     "" using 4 title "busy, 1 thread" lc rgb "#fdae6b", \
     "" using 5 title "busy, default threads" lc rgb "#e6550d"
