# The course's PyTorch flow-matching lab, checked by fmd
# (chapters/04-training-flow-and-diffusion-models/torch_lab.py): the exact FM
# loss E|u_theta - u_t|^2 of the student's network over training, by fmd's
# exact marginal field on 20,000 fixed points of p_t, beside fmd's own
# network (same width, batch and steps) on the same points; and the CFM loss
# the student sees, which levels off at Thm 18's constant C.
# Data: bench/results/torch_lab.tsv (make examples, make bench).
if (!exists("dir")) dir = "bench/results"
set terminal pngcairo size 900,560 font "Sans,10"
set output dir."/torch_lab.png"
set title "A PyTorch flow-matching lab, measured against the exact field"
set xlabel "training step"
set ylabel "loss"
set logscale y
set key bottom left box opaque
set grid
plot dir."/torch_lab.tsv" using 1:2 with linespoints lw 2 pt 7 lc rgb "#d62728" title "PyTorch lab: exact FM loss", \
     dir."/torch_lab.tsv" using 1:5 with linespoints lw 2 pt 5 lc rgb "#1f77b4" title "fmd's own network: exact FM loss", \
     dir."/torch_lab.tsv" using 1:3 with lines lw 1.5 dt 2 lc rgb "#d62728" title "PyTorch lab: CFM loss (what training sees)", \
     dir."/torch_lab.tsv" using 1:4 with lines lw 1.5 dt 3 lc rgb "black" title "Thm 18's constant C"
