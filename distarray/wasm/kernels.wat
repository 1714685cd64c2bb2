;; WebAssembly SIMD kernels of distarray (assembled by scripts/build-wasm.mjs into
;; kernels.wasm.ts; a test checks the two agree). The memory is imported: each large float64
;; DistArray block lives in a shared WebAssembly.Memory of its own, so the kernels read the
;; block in place.
(module
  (memory (import "env" "mem") 1 65536 shared)

  ;; gemv2: y[i] = sum_{j < n4} A[a + i*lda + j] * x[j] for i < m2 (m2 even, n4 a multiple of
  ;; 4); byte addresses a, x, y; lda in elements. Two rows per pass, f64x2 lanes, two vector
  ;; accumulators per row: x is loaded once for both rows. Lane sums are added as
  ;; (j = 0, 2 mod 4) + (j = 1, 3 mod 4); the caller adds columns n4.. and an odd last row.
  (func (export "gemv2") (param $a i32) (param $lda i32) (param $m2 i32) (param $n4 i32) (param $x i32) (param $y i32)
    (local $i i32) (local $r0 i32) (local $r1 i32) (local $xp i32) (local $xe i32) (local $rowb i32) (local $yp i32)
    (local $s0 v128) (local $s1 v128) (local $t0 v128) (local $t1 v128) (local $xv v128) (local $xw v128)
    (local.set $rowb (i32.shl (local.get $lda) (i32.const 3)))
    (local.set $xe (i32.add (local.get $x) (i32.shl (local.get $n4) (i32.const 3))))
    (local.set $yp (local.get $y))
    (local.set $r0 (local.get $a))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $m2)))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rowb)))
        (local.set $s0 (v128.const f64x2 0 0))
        (local.set $s1 (v128.const f64x2 0 0))
        (local.set $t0 (v128.const f64x2 0 0))
        (local.set $t1 (v128.const f64x2 0 0))
        (local.set $xp (local.get $x))
        (block $cdone
          (loop $cols
            (br_if $cdone (i32.ge_u (local.get $xp) (local.get $xe)))
            (local.set $xv (v128.load (local.get $xp)))
            (local.set $xw (v128.load offset=16 (local.get $xp)))
            (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (v128.load (local.get $r0)) (local.get $xv))))
            (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (v128.load offset=16 (local.get $r0)) (local.get $xw))))
            (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (v128.load (local.get $r1)) (local.get $xv))))
            (local.set $t1 (f64x2.add (local.get $t1) (f64x2.mul (v128.load offset=16 (local.get $r1)) (local.get $xw))))
            (local.set $xp (i32.add (local.get $xp) (i32.const 32)))
            (local.set $r0 (i32.add (local.get $r0) (i32.const 32)))
            (local.set $r1 (i32.add (local.get $r1) (i32.const 32)))
            (br $cols)))
        (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
        (local.set $t0 (f64x2.add (local.get $t0) (local.get $t1)))
        (f64.store (local.get $yp) (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
        (f64.store offset=8 (local.get $yp) (f64.add (f64x2.extract_lane 0 (local.get $t0)) (f64x2.extract_lane 1 (local.get $t0))))
        (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
        ;; next pair of rows: r0 advanced by n4 elements over row i; skip to row i + 2
        (local.set $r0 (i32.add (i32.sub (local.get $r0) (i32.shl (local.get $n4) (i32.const 3))) (i32.shl (local.get $rowb) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $rows))))
)
