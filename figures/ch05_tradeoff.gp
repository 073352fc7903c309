# Chapter 5: the guidance trade-off on Fashion-MNIST, measured, for the MLP
# denoiser (solid) and the U-Net (dashed). Left axis: the accuracy of the
# clean-image classifier on guided samples of the asked class (binomial
# standard errors); right axis: diversity, the mean pairwise distance
# between samples of one class (mean over classes, SE over classes).
# Data: build/data/ch05_fmnist_tradeoff.tsv, build/data/ch05_fmnist_unet_tradeoff.tsv.
# Kind: machine-dependent (networks trained through BLIS's CPU-specific kernels, float32)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 800,520 font "Sans,10"
set output out."/ch05_tradeoff.png"
set title "Classifier-free guidance on Fashion-MNIST: accuracy up, diversity down"
set xlabel "guidance scale w"
set ylabel "classifier accuracy on guided samples"
set y2label "mean pairwise distance within a class"
set ytics nomirror; set y2tics
set yrange [0:1]
set key bottom right
set grid
plot data."/ch05_fmnist_tradeoff.tsv" using 1:2:3 with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" title "accuracy, MLP", \
     "" using 1:4:5 axes x1y2 with yerrorlines lw 2 pt 5 lc rgb "#d62728" title "diversity, MLP", \
     data."/ch05_fmnist_unet_tradeoff.tsv" using 1:2:3 with yerrorlines lw 2 dt 2 pt 6 lc rgb "#1f77b4" title "accuracy, U-Net", \
     "" using 1:4:5 axes x1y2 with yerrorlines lw 2 dt 2 pt 4 lc rgb "#d62728" title "diversity, U-Net"
