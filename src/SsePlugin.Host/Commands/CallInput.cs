using System.Globalization;
using nietras.SeparatedValues;
using SsePlugin.Client;

namespace SsePlugin.Host.Commands;

/// <summary>A mistake in what <c>call</c> was asked to do, told in one line with its fix.</summary>
/// <param name="message">The cause and the fix.</param>
/// <param name="exitCode">The exit code it ends with.</param>
internal sealed class CallException(string message, int exitCode = ExitCodes.Problem) : Exception(message)
{
    /// <summary>Gets the exit code the command ends with.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// The rows <c>call</c> sends: from the command line (one row) or a CSV file, each value read for its parameter's
/// type: a number (<c>12.5</c>), a text, or a dual written <c>number|text</c>.
/// </summary>
internal static class CallInput
{
    /// <summary>Reads one value for a parameter.</summary>
    /// <param name="text">The value as written.</param>
    /// <param name="parameter">The parameter it goes to.</param>
    /// <param name="where">Where it was written, for the error: <c>argument 2</c>, <c>data.csv line 3</c>.</param>
    public static SseValue Value(string text, SseParameter parameter, string where) => parameter.DataType switch
    {
        SseDataType.String => text,
        SseDataType.Numeric => TryNumber(text, out var number)
            ? number
            : throw BadArgument(where, $"'{text}' is not a number, and {parameter.Name} is numeric",
                "write numbers with a point and no thousands separator (1234.5), or nothing for null"),
        _ => Dual(text),
    };

    /// <summary>Reads a CSV file's column names, its first line.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The column names.</returns>
    public static string[] CsvColumns(string path)
    {
        using var reader = OpenCsv(path);
        return [.. reader.Header.ColNames];
    }

    /// <summary>
    /// Reads a CSV file's rows as values of <paramref name="parameters"/>, row by row (RFC 4180: quotes, "" inside
    /// them): its first line names the columns, each parameter takes its column (<see cref="Columns"/>). A blank line
    /// is skipped; an empty value of a one-column file is written <c>""</c>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="parameters">The parameters.</param>
    /// <returns>The rows.</returns>
    public static List<SseValue[]> ReadCsv(string path, IReadOnlyList<SseParameter> parameters)
    {
        using var reader = OpenCsv(path);
        string[] columns = [.. reader.Header.ColNames];
        var indexes = Columns(columns, parameters, path);
        var rows = new List<SseValue[]>();
        foreach (var row in reader)
        {
            if (row.ColCount == 1 && row.Span.IsWhiteSpace())
            {
                continue; // a blank line
            }

            if (row.Span.Count('"') % 2 != 0)
            {
                throw new CallException(
                    $"--csv {path} line {row.LineNumberFrom}: a quote is opened and never closed. Fix: close each "
                    + "quoted value with \", and write a quote inside one as \"\".",
                    ExitCodes.Usage);
            }

            if (row.ColCount != columns.Length)
            {
                throw new CallException(
                    $"--csv {path} line {row.LineNumberFrom}: {row.ColCount} values for {columns.Length} columns "
                    + $"({string.Join(", ", columns)}). Fix: give each row one value per column (empty for null), "
                    + "and quote a value that holds a comma.",
                    ExitCodes.Usage);
            }

            var values = new SseValue[parameters.Count];
            for (var i = 0; i < values.Length; i++)
            {
                var where = $"{path} line {row.LineNumberFrom}, column {columns[indexes[i]]}";
                values[i] = Value(row[indexes[i]].ToString(), parameters[i], where);
            }

            rows.Add(values);
        }

        return rows;
    }

    /// <summary>Where each parameter's value is in a CSV row: by column name when every parameter has a column of its
    /// name (in any case), else by position.</summary>
    /// <param name="columns">The CSV's column names.</param>
    /// <param name="parameters">The parameters.</param>
    /// <param name="path">The file, for the error.</param>
    /// <returns>The column of each parameter.</returns>
    public static int[] Columns(string[] columns, IReadOnlyList<SseParameter> parameters, string path)
    {
        var byName = parameters
            .Select(p => Array.FindIndex(columns, c => c.Trim().Equals(p.Name, StringComparison.OrdinalIgnoreCase)))
            .ToArray();
        if (byName.All(column => column >= 0))
        {
            return byName;
        }

        return columns.Length >= parameters.Count
            ? [.. Enumerable.Range(0, parameters.Count)]
            : throw new CallException(
                $"--csv {path}: {columns.Length} columns ({string.Join(", ", columns)}) for {parameters.Count} "
                + $"parameters ({string.Join(", ", parameters.Select(p => p.Name))}). Fix: name the columns as the "
                + "parameters, or give one column per parameter in their order.",
                ExitCodes.Usage);
    }

    /// <summary>The error of a value that does not fit its parameter.</summary>
    public static CallException BadArgument(string where, string cause, string fix) =>
        new($"Bad argument ({where}): {cause}. Fix: {fix}.", ExitCodes.Usage);

    private static bool TryNumber(string text, out double number)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim().Equals("null", StringComparison.OrdinalIgnoreCase))
        {
            number = double.NaN; // Qlik's null
            return true;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out number);
    }

    // number|text, a number (its text as written), or a text (no number: NaN, as Qlik sends a text).
    private static SseValue Dual(string text)
    {
        var bar = text.IndexOf('|', StringComparison.Ordinal);
        if (bar >= 0 && TryNumber(text[..bar], out var number))
        {
            return new SseDual(number, text[(bar + 1)..]);
        }

        return new SseDual(TryNumber(text, out number) ? number : double.NaN, text);
    }

    // The file's reader: comma-separated, its first line the column names; the row lengths are checked here.
    private static SepReader OpenCsv(string path)
    {
        SepReader reader;
        try
        {
            reader = Sep.New(',').Reader(o => o with { Unescape = true, DisableColCountCheck = true }).FromFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CallException(
                $"--csv {path}: cannot be read ({e.Message}). Fix: give the path of a readable CSV file.",
                ExitCodes.Usage);
        }
        catch (ArgumentException e)
        {
            // Sep's refusal of its first line, such as a column name given twice.
            throw new CallException(
                $"--csv {path} line 1: {e.Message}. Fix: give each column a name of its own.", ExitCodes.Usage);
        }

        if (reader.Header.IsEmpty)
        {
            reader.Dispose();
            throw new CallException(
                $"--csv {path}: the file is empty. Fix: its first line names the columns, each line after is a row.",
                ExitCodes.Usage);
        }

        return reader;
    }
}
