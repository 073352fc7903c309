/* typed_end.h -- undo typed_begin.h, ready for the next type. */
#undef fmd_real
#undef FMD_T
#undef fmd_gemm_real
#undef fmd_vexp_real
#undef fmd_exp_real
#undef FMD_TYPED_F32
