# The U-Net sweep (bench/unet_sweep.c): each network trained for the same
# wall time on this machine's CPUs (60 s by default), then the Fréchet
# distance of 2000 samples to the test set in chapter 5's classifier
# features. Bars: the networks (name: p2- for 2 x 2 patches, base channels,
# level multipliers, attention, objective, -logit for logit-normal t,
# batch); dashed: chapter 5's MLP denoiser trained
# for the same time; dotted: the floor (training against test images).
if (!exists("dir")) dir = "bench/results"
f = dir."/unet_sweep.tsv"
stats f using (strcol(1) eq "mlp-denoiser-512x3-b128" ? $6 : 1/0) nooutput
mlp = STATS_max
stats f using 7 nooutput
floor = STATS_max
set terminal pngcairo size 1100,560 font "Sans,10"
set output dir."/unet_sweep.png"
set title "U-Nets after the same training time: Fréchet distance (lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "Fréchet distance, 2000 samples"
set yrange [0:*]
set xtics rotate by -30
set rmargin 14
set key top right
set grid ytics
# the table: a comment, the header, the MLP's row (drawn as the dashed line), then the U-Nets
plot f skip 2 every ::1 using 6:xtic(1) title "U-Net" lc rgb "#d62728", \
     mlp with lines dt 2 lw 2 lc rgb "#1f77b4" title "MLP denoiser, same time", \
     floor with lines dt 3 lw 2 lc rgb "#555555" title "floor"
