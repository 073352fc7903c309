# Chapter 6: forward noising of the five-mode mixture by the VP SDE of `003`
# (Euler-Maruyama from p_data), at lecture times s = 0, 0.1, 0.25, 0.5, 1
# (course time t = 1 - s). Data: build/data/ch06_forward.tsv.
# Kind: exact (double precision, no BLIS product: the same bits on every x86-64 machine with AVX2 and FMA, on any number of threads)
if (!exists("data")) data = "build/data"
if (!exists("out")) out = "figures/png"
set terminal pngcairo size 1800,400 font "Sans,10"
set output out."/ch06_forward.png"
set multiplot layout 1,5 title "Forward noising, dx = -b(s) x/2 ds + sqrt(b(s)) dw: data at s = 0, noise at s = 1"
set size ratio -1
set xrange [-4.5:4.5]; set yrange [-4.5:4.5]
unset key
names = "0 0.1 0.25 0.5 1"
do for [q=0:4] {
    set title "s = ".word(names, q+1)
    plot data."/ch06_forward.tsv" index q using 1:2 with points pt 7 ps 0.2 lc rgb "#1f77b4"
}
unset multiplot
