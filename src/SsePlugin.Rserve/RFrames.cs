namespace SsePlugin.Rserve;

/// <summary>Builds and reads R data frames and factors.</summary>
public static class RFrames
{
    /// <summary>
    /// Builds a data frame as R stores one: a list of columns with <c>names</c>, <c>class</c> and compact
    /// <c>row.names</c>.
    /// </summary>
    /// <param name="names">The column names.</param>
    /// <param name="columns">The columns, each with <paramref name="rowCount"/> elements.</param>
    /// <param name="rowCount">The number of rows.</param>
    /// <returns>The frame, ready to send with <see cref="RserveConnection.AssignAsync"/>.</returns>
    public static RList DataFrame(IReadOnlyList<string> names, IReadOnlyList<RValue> columns, int rowCount)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        if (names.Count != columns.Count)
        {
            throw new ArgumentException(
                $"A data frame needs one name per column: {names.Count} names for {columns.Count} columns.",
                nameof(names));
        }

        var nameArray = new string?[names.Count];
        for (var i = 0; i < columns.Count; i++)
        {
            nameArray[i] = names[i] ?? throw new ArgumentException($"Column {i + 1} has no name.", nameof(names));
            if (columns[i] is not { } column || column.Length != rowCount)
            {
                throw new ArgumentException(
                    $"Column '{names[i]}' has {columns[i]?.Length ?? 0} values but the frame has {rowCount} rows.",
                    nameof(columns));
            }
        }

        // R's compact row names, .set_row_names(n): c(NA_integer_, -n), or integer(0) for no rows.
        var rowNames = rowCount == 0 ? new RIntegerVector([]) : new RIntegerVector([RNa.Integer, -rowCount]);
        return new RList(columns)
        {
            Attributes =
            [
                new("names", new RStringVector(nameArray)),
                new("class", new RStringVector(["data.frame"])),
                new("row.names", rowNames),
            ],
        };
    }

    /// <summary>Tells whether a value is a data frame: a list whose class includes <c>data.frame</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns><see langword="true"/> for a data frame.</returns>
    public static bool IsDataFrame(RValue value) => value is RList && value.Inherits("data.frame");

    /// <summary>Gets the number of rows of a data frame from its <c>row.names</c>, compact or not.</summary>
    /// <param name="frame">A data frame (see <see cref="IsDataFrame"/>).</param>
    /// <returns>The number of rows.</returns>
    public static int RowCount(RList frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        return frame.GetAttribute("row.names") switch
        {
            RIntegerVector { Length: 2 } compact when compact.Values[0] == RNa.Integer => Math.Abs(compact.Values[1]),
            { } rowNames => rowNames.Length,
            null => throw new ArgumentException(
                "The value has no row.names attribute; it is not a data frame.", nameof(frame)),
        };
    }

    /// <summary>
    /// Tells whether a value is a factor: an integer vector of class <c>factor</c> with a character <c>levels</c>
    /// attribute.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <returns><see langword="true"/> for a factor.</returns>
    public static bool IsFactor(RValue value) =>
        value is RIntegerVector && value.Inherits("factor") && value.GetAttribute("levels") is RStringVector;

    /// <summary>Turns a factor's codes (1-based level numbers) into its labels.</summary>
    /// <param name="factor">A factor (see <see cref="IsFactor"/>).</param>
    /// <returns>One label per element; <see langword="null"/> for NA.</returns>
    public static string?[] FactorLabels(RIntegerVector factor)
    {
        ArgumentNullException.ThrowIfNull(factor);
        if (factor.GetAttribute("levels") is not RStringVector levels || !factor.Inherits("factor"))
        {
            throw new ArgumentException(
                "The vector is not a factor: it needs class 'factor' and a character 'levels' attribute.",
                nameof(factor));
        }

        var codes = factor.AsSpan();
        var labels = new string?[codes.Length];
        for (var i = 0; i < codes.Length; i++)
        {
            var code = codes[i];
            if (code == RNa.Integer)
            {
                continue;
            }

            if ((uint)(code - 1) >= (uint)levels.Length)
            {
                throw new ArgumentException(
                    $"Element {i + 1} of the factor has code {code}, but there are {levels.Length} levels.",
                    nameof(factor));
            }

            labels[i] = levels.Values[code - 1];
        }

        return labels;
    }
}
