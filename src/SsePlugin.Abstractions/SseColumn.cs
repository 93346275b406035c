namespace SsePlugin;

/// <summary>One named, typed column of an <see cref="SseTable"/>.</summary>
public sealed class SseColumn
{
    /// <summary>Creates a numeric column.</summary>
    /// <param name="name">The field name Qlik shows.</param>
    /// <param name="numbers">The values; <see cref="double.NaN"/> is Qlik's null.</param>
    public SseColumn(string name, double[] numbers)
        : this(
            name,
            SseDataType.Numeric,
            numbers ?? throw new ArgumentNullException(nameof(numbers)),
            null,
            numbers.Length)
    {
    }

    /// <summary>Creates a text column.</summary>
    /// <param name="name">The field name Qlik shows.</param>
    /// <param name="strings">The values; <see langword="null"/> entries are sent as empty text.</param>
    public SseColumn(string name, string[] strings)
        : this(
            name, SseDataType.String, null, strings ?? throw new ArgumentNullException(nameof(strings)), strings.Length)
    {
    }

    /// <summary>Creates a dual column from its numbers and texts, which must be of equal length.</summary>
    /// <param name="name">The field name Qlik shows.</param>
    /// <param name="numbers">The numeric parts.</param>
    /// <param name="strings">The text parts.</param>
    public SseColumn(string name, double[] numbers, string[] strings)
        : this(name, SseDataType.Dual, numbers, strings, numbers?.Length ?? 0)
    {
        ArgumentNullException.ThrowIfNull(numbers);
        ArgumentNullException.ThrowIfNull(strings);
        if (numbers.Length != strings.Length)
        {
            throw new ArgumentException(
                $"Column '{name}' has {numbers.Length} numbers but {strings.Length} texts.", nameof(strings));
        }
    }

    internal SseColumn(string name, SseDataType dataType, double[]? numbers, string?[]? strings, int count)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        DataType = dataType;
        NumberArray = numbers;
        StringArray = strings;
        Count = count;
    }

    /// <summary>Gets the field name.</summary>
    public string Name { get; }

    /// <summary>Gets the data type Qlik reads the values as.</summary>
    public SseDataType DataType { get; }

    /// <summary>
    /// Gets or sets the field tags Qlik attaches to the field (for example <c>$numeric</c>); none by default.
    /// </summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Gets the number of values.</summary>
    public int Count { get; }

    /// <summary>Gets the numbers, or <see cref="double.NaN"/> for each value of a text column.</summary>
    /// <param name="row">The row index.</param>
    /// <returns>The number in that row.</returns>
    public double NumberAt(int row)
    {
        CheckRow(row);
        return NumberArray is null ? double.NaN : NumberArray[row];
    }

    /// <summary>Gets the text in a row, or empty text where the column holds none.</summary>
    /// <param name="row">The row index.</param>
    /// <returns>The text in that row.</returns>
    public string TextAt(int row)
    {
        CheckRow(row);
        return StringArray?[row] ?? string.Empty;
    }

    /// <summary>
    /// The numbers, possibly longer than <see cref="Count"/>; <see langword="null"/> for text columns.
    /// </summary>
    internal double[]? NumberArray { get; }

    /// <summary>
    /// The texts, possibly longer than <see cref="Count"/>; <see langword="null"/> where no row has text.
    /// </summary>
    internal string?[]? StringArray { get; }

    private void CheckRow(int row) =>
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)Count, nameof(row));
}
