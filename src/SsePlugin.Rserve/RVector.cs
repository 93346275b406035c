namespace SsePlugin.Rserve;

/// <summary>
/// An atomic R vector over an array, of which only the first <see cref="Length"/> elements belong to the vector.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public abstract class RVector<T> : RValue
{
    private protected RVector(T[] values, int? length)
    {
        ArgumentNullException.ThrowIfNull(values);
        var count = length ?? values.Length;
        ArgumentOutOfRangeException.ThrowIfNegative(count, nameof(length));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, values.Length, nameof(length));
        Values = values;
        Length = count;
    }

    /// <summary>Gets the array that holds the elements; it may be longer than <see cref="Length"/>.</summary>
    public T[] Values { get; }

    /// <summary>Gets the number of elements, at most the length of <see cref="Values"/>.</summary>
    public override int Length { get; }

    /// <summary>Gets the elements of the vector.</summary>
    /// <returns>The first <see cref="Length"/> elements of <see cref="Values"/>.</returns>
    public ReadOnlySpan<T> AsSpan() => Values.AsSpan(0, Length);

    internal IReadOnlyList<T> AsReadOnlyList() => new ArraySegment<T>(Values, 0, Length);
}

/// <summary>
/// An R numeric (double) vector; NA is <see cref="RNa.Double"/>, which differs from <see cref="double.NaN"/> (R's NaN).
/// </summary>
public sealed class RDoubleVector : RVector<double>
{
    /// <summary>Creates the vector.</summary>
    /// <param name="values">The elements.</param>
    /// <param name="length">How many leading elements of <paramref name="values"/> belong to the vector; all by
    /// default.</param>
    public RDoubleVector(double[] values, int? length = null)
        : base(values, length)
    {
    }
}

/// <summary>An R integer vector; NA is <see cref="RNa.Integer"/> (<see cref="int.MinValue"/>).</summary>
public sealed class RIntegerVector : RVector<int>
{
    /// <summary>Creates the vector.</summary>
    /// <param name="values">The elements.</param>
    /// <param name="length">How many leading elements of <paramref name="values"/> belong to the vector; all by
    /// default.</param>
    public RIntegerVector(int[] values, int? length = null)
        : base(values, length)
    {
    }
}

/// <summary>An R logical vector: 0 is FALSE, 1 is TRUE and 2 (<see cref="RNa.Logical"/>) is NA.</summary>
public sealed class RLogicalVector : RVector<byte>
{
    /// <summary>Creates the vector.</summary>
    /// <param name="values">The elements: 0, 1 or 2; R reads any other byte as NA.</param>
    /// <param name="length">How many leading elements of <paramref name="values"/> belong to the vector; all by
    /// default.</param>
    public RLogicalVector(byte[] values, int? length = null)
        : base(values, length)
    {
    }
}

/// <summary>An R character vector; a <see langword="null"/> element is <c>NA_character_</c>.</summary>
public sealed class RStringVector : RVector<string?>
{
    /// <summary>Creates the vector.</summary>
    /// <param name="values">The elements, sent as UTF-8; they cannot contain NUL characters.</param>
    /// <param name="length">How many leading elements of <paramref name="values"/> belong to the vector; all by
    /// default.</param>
    public RStringVector(string?[] values, int? length = null)
        : base(values, length)
    {
    }
}
