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

    /// Runs `body` with BLAS on the calling thread only, for callers that spread products over
    /// their own threads (each calling sgemm on its share): BLAS's own workers then stay asleep
    /// instead of spinning against those threads between calls.
    @inline(__always)
    public static func singleThreaded<Result>(_ body: () throws -> Result) rethrows -> Result {
        #if canImport(Accelerate)
        return try body()
        #else
        let previous = openblas_get_num_threads()
        if previous != 1 { openblas_set_num_threads(1) }
        defer { if previous != 1 { openblas_set_num_threads(previous) } }
        return try body()
        #endif
    }

    /// Sets the number of threads BLAS may use (OpenBLAS; a no-op with Accelerate).
    public static func setThreads(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(max(1, count)))
        #endif
    }
}
