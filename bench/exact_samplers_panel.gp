# The image panel of the exact-score sampler benchmark (bench/exact_sampler_bench.c):
# eight starts of the 784-d Fashion-MNIST mixture (vp path, sigma = 80), the
# exact flow's image of each on top, then what four samplers make of the same
# starts at 5, 10, 20 and 50 NFE. The bench writes the pixels
# (exact_samplers_panel_grid.png, 28 x 28 images with 2-pixel gaps around each); this
# script labels the rows.
if (!exists("dir")) dir = "bench/results"
grid = dir."/exact_samplers_panel_grid.png"
W = 8 * 28 + 9 * 2   # 2-pixel gaps, the outer edges included
H = 17 * 28 + 18 * 2
set terminal pngcairo size 720,1180 font "Sans,10"
set output dir."/exact_samplers_panel.png"
set title "The same eight starts, sampled with exact scores\n(the Fashion-MNIST mixture, d = 784, vp path from sigma = 80)"
unset border; unset xtics; unset ytics; unset key
set lmargin 24; set rmargin 2; set tmargin 3; set bmargin 1
set xrange [0:W]; set yrange [0:H]
set size ratio -1
labels = "exact flow|Euler, 5 NFE|Euler, 10|Euler, 20|Euler, 50|DPM-Solver++(2M), 5|DPM-Solver++(2M), 10|DPM-Solver++(2M), 20|DPM-Solver++(2M), 50|Heun (EDM), 5|Heun (EDM), 9|Heun (EDM), 19|Heun (EDM), 49|DPM-Solver++(3M), 5|DPM-Solver++(3M), 10|DPM-Solver++(3M), 20|DPM-Solver++(3M), 50"
do for [i=1:17] {
    s = labels; n = 0
    while (n < i - 1) { s = s[strstrt(s, "|") + 1:]; n = n + 1 }
    lab = (strstrt(s, "|") > 0) ? s[1:strstrt(s, "|") - 1] : s
    set label i lab at graph 0, first (H - (i - 1) * 30 - 16) right offset -1, 0 font ",9"
}
plot grid binary filetype=png with rgbimage
