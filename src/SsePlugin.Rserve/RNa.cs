namespace SsePlugin.Rserve;

/// <summary>R's missing values (NA) as they travel over QAP1.</summary>
public static class RNa
{
    /// <summary>R's integer NA, <c>NA_integer_</c>.</summary>
    public const int Integer = int.MinValue;

    /// <summary>R's logical NA in an <see cref="RLogicalVector"/>.</summary>
    public const byte Logical = 2;

    // R marks NA_real_ as a NaN whose low word is 1954; any other NaN is R's NaN.
    private const long DoubleBits = 0x7FF00000000007A2;
    private const uint DoubleLowWord = 1954;

    /// <summary>
    /// Gets R's numeric NA, <c>NA_real_</c>: a NaN that R tells apart from its <c>NaN</c> (<see cref="double.NaN"/>).
    /// </summary>
    public static double Double { get; } = BitConverter.Int64BitsToDouble(DoubleBits);

    /// <summary>Tells whether a double is R's NA rather than any other NaN, as R's <c>R_IsNA</c> does.</summary>
    /// <param name="value">The value.</param>
    /// <returns>
    /// <see langword="true"/> for a NaN whose low 32 bits are 1954, even with the quiet bit that arithmetic sets.
    /// </returns>
    public static bool IsNA(double value) =>
        double.IsNaN(value) && (uint)BitConverter.DoubleToInt64Bits(value) == DoubleLowWord;
}
