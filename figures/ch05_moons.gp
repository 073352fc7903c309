# Chapter 5: trained guidance on the two moons, asking for moon 1 (the lower
# one). Top: classifier-free guidance (one labelled flow model, labels dropped
# with probability 0.1 in training). Bottom: classifier guidance (the same
# model without a label, plus a time-conditioned classifier's gradient).
# Data: build/data/ch05_moons.tsv.
# Kind: machine-dependent (networks trained through BLIS's CPU-specific kernels, float32)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1400,720 font "Sans,10"
set output out."/ch05_moons.png"
set multiplot layout 2,3 title "Trained guidance on the two moons (moon 1 asked)"
set size ratio -1
set xrange [-11:6]; set yrange [-6.5:3.5]
unset key
ws = "0 1 3"
do for [q=0:5] {
    set title (q < 3 ? "classifier-free" : "classifier guidance").", w = ".word(ws, q % 3 + 1)
    plot data."/ch05_moons.tsv" index q using 1:2 with points pt 7 ps 0.2 lc rgb (q < 3 ? "#1f77b4" : "#d62728")
}
unset multiplot
