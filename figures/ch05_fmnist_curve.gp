# Chapter 5: the Fréchet distance of samples to the test set (classifier
# features, w = 1) against training time, for the MLP denoiser and the
# U-Net trained two ways (CFM; EDM's preconditioned denoiser), in units of
# the MLP's 6000 steps (about a minute on this project's 2 CPUs; the U-Net's
# steps per unit fixed in advance from the sweep's measured step costs,
# chapters/05-conditional-generation/unet_part.c). Dotted: the floor, real
# training images against the test set; dashed: half the MLP's 1-unit
# distance, issue 27's goal for the U-Net at 5 units.
# Data: build/data/ch05_fmnist_curve.tsv (columns model-units, units, steps, images, distance).
# Kind: machine-dependent (networks trained through BLIS's CPU-specific kernels, float32)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
f = data."/ch05_fmnist_curve.tsv"
stats f using (strcol(1) eq "floor" ? $5 : 1/0) nooutput
floor = STATS_max
stats f using (strcol(1) eq "mlp-1" ? $5 : 1/0) nooutput
mlp1 = STATS_max
set terminal pngcairo size 800,520 font "Sans,10"
set output out."/ch05_fmnist_curve.png"
set title "Fréchet distance against training time on Fashion-MNIST (2000 samples, w = 1)"
set xlabel "training time (units of the MLP's 6000 steps, about a minute here)"
set ylabel "Fréchet distance to the test set (classifier features)"
set logscale x
set xtics (1, 2, 5, 15)
set xrange [0.8:18]
set yrange [0:*]
set key top right
set grid
plot f using 2:(strstrt(strcol(1), "mlp-") == 1 ? $5 : 1/0) with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "MLP denoiser", \
     f using 2:(strstrt(strcol(1), "unet-cfm-") == 1 ? $5 : 1/0) with linespoints lw 2 pt 5 lc rgb "#d62728" title "U-Net, CFM", \
     f using 2:(strstrt(strcol(1), "unet-edm-") == 1 ? $5 : 1/0) with linespoints lw 2 pt 9 lc rgb "#2ca02c" title "U-Net, EDM", \
     floor with lines dt 3 lw 2 lc rgb "#555555" title "floor: training vs test images", \
     mlp1 / 2 with lines dt 2 lw 1 lc rgb "#1f77b4" title "half the MLP's 1-unit distance"
