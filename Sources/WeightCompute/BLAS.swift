#if canImport(Accelerate)
import Accelerate
#else
import COpenBLAS
#endif

/// The one place WeightKit calls BLAS. On Linux this is OpenBLAS's CBLAS; on Apple platforms
/// Accelerate offers the same CBLAS functions, so nothing above this file changes.
public enum BLAS {
    /// C[M, N] = alpha * A[M, K] · B[N, K]ᵀ + beta * C, all row-major with the given leading
    /// dimensions (the shape of every `x · Wᵀ` in a transformer, W stored as [out, in]).
    @inline(__always)
    public static func multiplyTransposed(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C[M, N] = alpha * A[M, K] · B[K, N] + beta * C, row-major.
    @inline(__always)
    public static func multiply(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Sets OpenBLAS's process-wide thread count (a no-op with Accelerate). WeightKit's compute
    /// contexts call BLAS single-threaded on their own threads and never change this; the
    /// `weightkit` tool sets it to 1 once when it starts, so that OpenBLAS's threads do not
    /// compete with a context's.
    public static func setProcessThreads(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(max(1, count)))
        #endif
    }
}
