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

  ;; gemm2: C[i, j] += sum_{p < k4} A[i, p] * B[p, j] for i < m2 (even), j < n2 (even), k4 a
  ;; multiple of 4; byte addresses a, b, c; leading dimensions in elements. Two rows of C by
  ;; four rows of B per pass, f64x2 lanes along j; the caller pads to these multiples with
  ;; zeros and cuts the columns into cache-sized strips.
  (func (export "gemm2") (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32) (param $m2 i32) (param $k4 i32) (param $n2 i32)
    (local $i i32) (local $p i32) (local $jb i32) (local $nb i32)
    (local $ar0 i32) (local $ar1 i32) (local $cr0 i32) (local $cr1 i32)
    (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32) (local $rowb i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $y0 v128) (local $y1 v128) (local $y2 v128) (local $y3 v128)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local.set $nb (i32.shl (local.get $n2) (i32.const 3)))
    (local.set $rowb (i32.shl (local.get $ldb) (i32.const 3)))
    (block $idone
      (loop $rows
        (br_if $idone (i32.ge_u (local.get $i) (local.get $m2)))
        (local.set $ar0 (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $lda)) (i32.const 3))))
        (local.set $ar1 (i32.add (local.get $ar0) (i32.shl (local.get $lda) (i32.const 3))))
        (local.set $cr0 (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $ldc)) (i32.const 3))))
        (local.set $cr1 (i32.add (local.get $cr0) (i32.shl (local.get $ldc) (i32.const 3))))
        (local.set $p (i32.const 0))
        (block $pdone
          (loop $ps
            (br_if $pdone (i32.ge_u (local.get $p) (local.get $k4)))
            (local.set $x0 (f64x2.splat (f64.load (i32.add (local.get $ar0) (i32.shl (local.get $p) (i32.const 3))))))
            (local.set $x1 (f64x2.splat (f64.load offset=8 (i32.add (local.get $ar0) (i32.shl (local.get $p) (i32.const 3))))))
            (local.set $x2 (f64x2.splat (f64.load offset=16 (i32.add (local.get $ar0) (i32.shl (local.get $p) (i32.const 3))))))
            (local.set $x3 (f64x2.splat (f64.load offset=24 (i32.add (local.get $ar0) (i32.shl (local.get $p) (i32.const 3))))))
            (local.set $y0 (f64x2.splat (f64.load (i32.add (local.get $ar1) (i32.shl (local.get $p) (i32.const 3))))))
            (local.set $y1 (f64x2.splat (f64.load offset=8 (i32.add (local.get $ar1) (i32.shl (local.get $p) (i32.const 3))))))
            (local.set $y2 (f64x2.splat (f64.load offset=16 (i32.add (local.get $ar1) (i32.shl (local.get $p) (i32.const 3))))))
            (local.set $y3 (f64x2.splat (f64.load offset=24 (i32.add (local.get $ar1) (i32.shl (local.get $p) (i32.const 3))))))
            (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $p) (local.get $rowb))))
            (local.set $b1 (i32.add (local.get $b0) (local.get $rowb)))
            (local.set $b2 (i32.add (local.get $b1) (local.get $rowb)))
            (local.set $b3 (i32.add (local.get $b2) (local.get $rowb)))
            (local.set $jb (i32.const 0))
            (block $jdone
              (loop $js
                (br_if $jdone (i32.ge_u (local.get $jb) (local.get $nb)))
                (local.set $v0 (v128.load (i32.add (local.get $b0) (local.get $jb))))
                (local.set $v1 (v128.load (i32.add (local.get $b1) (local.get $jb))))
                (local.set $v2 (v128.load (i32.add (local.get $b2) (local.get $jb))))
                (local.set $v3 (v128.load (i32.add (local.get $b3) (local.get $jb))))
                (v128.store (i32.add (local.get $cr0) (local.get $jb))
                  (f64x2.add (f64x2.add (v128.load (i32.add (local.get $cr0) (local.get $jb)))
                                        (f64x2.add (f64x2.mul (local.get $x0) (local.get $v0)) (f64x2.mul (local.get $x1) (local.get $v1))))
                             (f64x2.add (f64x2.mul (local.get $x2) (local.get $v2)) (f64x2.mul (local.get $x3) (local.get $v3)))))
                (v128.store (i32.add (local.get $cr1) (local.get $jb))
                  (f64x2.add (f64x2.add (v128.load (i32.add (local.get $cr1) (local.get $jb)))
                                        (f64x2.add (f64x2.mul (local.get $y0) (local.get $v0)) (f64x2.mul (local.get $y1) (local.get $v1))))
                             (f64x2.add (f64x2.mul (local.get $y2) (local.get $v2)) (f64x2.mul (local.get $y3) (local.get $v3)))))
                (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
                (br $js)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $ps)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $rows))))
)
