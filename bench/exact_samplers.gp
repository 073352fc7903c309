# The exact-score sampler benchmark (bench/exact_sampler_bench.c, issue 15):
# one figure per problem, the 2-D five-mode mixture and the 784-d
# Fashion-MNIST mixture, every sampler from the same starts at sigma = 80.
#   top left:     coupled rms error (to the exact flow's image of the same
#                 starts) against NFE -- the slopes are the orders; thin
#                 dashed: k-diffusion's samplers stopped at sigma_min, before
#                 their last jump to 0; dashed gray: the reference's own error;
#   top right:    the median start's error, which a few starts sent to
#                 another class (and counted in the rms) do not move;
#   bottom left:  rms against wall time;
#   bottom right: |NLL gap| (paired with the reference), the coupled samplers
#                 solid, the stochastic ones dashed (their weak error).
# Each data block starts with a header line whose first field names the sampler.
# The keys: top left (the coupled samplers), bottom right (all of them).
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 1500,1100 font "Sans,10"
colors = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf #000000 #aa3377 #66aa00"
do for [i=1:13] { set linetype i lc rgb word(colors, i) lw 1.5 dt solid pt (i % 7 + 1) ps 0.7 }
# data blocks in a file: one header line each (the sampler's name, then the column names)
blocks(f) = int(system("awk -F'\t' '$2 == \"nfe\"' ".f." | wc -l"))
do for [p in "2d 784d"] {
    ode = dir."/exact_samplers_".p."_ode.tsv"
    sde = dir."/exact_samplers_".p."_sde.tsv"
    kmin = dir."/exact_samplers_".p."_sigma_min.tsv"
    nb = blocks(ode); ns = blocks(sde); nk = blocks(kmin)
    ref_floor = real(system("awk '/reference floor/ {for (i = 1; i <= NF; i++) if ($i == \"(rms)\") print $(i+1) + 0}' ".ode))
    what = (p eq "2d") ? "the five-mode mixture (d = 2, N = 4000)" : "the Fashion-MNIST mixture (d = 784, K = 10, rank 32, N = 512)"
    set output dir."/exact_samplers_".p.".png"
    set multiplot layout 2,2 title "Samplers with exact scores on ".what.", vp path, from sigma = 80 (lower is better)"
    set logscale xy
    set format y "10^{%L}"
    set grid
    set key outside right top font ",8"
    set xlabel "NFE per sample"
    set ylabel "coupled rms error (per coordinate)"
    plot for [i=0:nb-1] ode index i using 2:4 with linespoints lt (i + 1) title columnheader(1), \
         for [i=0:nk-1] kmin index i using 2:4 with lines lt (nb - nk + i + 1) lw 1 dt 2 notitle, \
         ref_floor with lines dt 2 lw 2 lc rgb "gray" title "reference floor"
    set ylabel "median start's error (per coordinate)"
    plot for [i=0:nb-1] ode index i using 2:6 with linespoints lt (i + 1) notitle, \
         ref_floor with lines dt 2 lw 2 lc rgb "gray" notitle
    set xlabel sprintf("wall time (s), %s samples, 2 threads", (p eq "2d") ? "4000" : "512")
    set ylabel "coupled rms error (per coordinate)"
    plot for [i=0:nb-1] ode index i using 3:4 with linespoints lt (i + 1) notitle
    set xlabel "NFE per sample"
    set ylabel "|NLL gap| (nats), paired with the reference"
    plot for [i=0:nb-1] ode index i using 2:(abs($7)) with linespoints lt (i + 1) title columnheader(1), \
         for [i=0:ns-1] sde index i using 2:(abs($7)) with linespoints lt (i + 1) dt 2 title columnheader(1)
    unset multiplot
}
