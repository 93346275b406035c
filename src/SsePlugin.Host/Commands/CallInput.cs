using System.Globalization;
using System.Text;
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

    /// <summary>Reads a CSV file's rows, its first line the column names (RFC 4180: quotes, "" inside them).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The column names and the rows, each with its line number.</returns>
    public static (string[] Columns, List<(int Line, string[] Values)> Rows) ReadCsv(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CallException(
                $"--csv {path}: cannot be read ({e.Message}). Fix: give the path of a readable CSV file.",
                ExitCodes.Usage);
        }

        var records = Records(text).Where(r => r.Values is not [""]).ToList();
        if (records.Count == 0)
        {
            throw new CallException(
                $"--csv {path}: the file is empty. Fix: its first line names the columns, each line after is a row.",
                ExitCodes.Usage);
        }

        return (records[0].Values, records.Skip(1).ToList());
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

    private static IEnumerable<(int Line, string[] Values)> Records(string text)
    {
        var values = new List<string>();
        var value = new StringBuilder();
        var line = 1;
        var start = 1;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    value.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    line += c == '\n' ? 1 : 0;
                    value.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                values.Add(value.ToString());
                value.Clear();
            }
            else if (c == '\n' || c == '\r')
            {
                i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 1 : 0;
                values.Add(value.ToString());
                value.Clear();
                yield return (start, [.. values]);
                values.Clear();
                start = ++line;
            }
            else
            {
                value.Append(c);
            }
        }

        if (value.Length > 0 || values.Count > 0)
        {
            values.Add(value.ToString());
            yield return (start, [.. values]);
        }
    }
}
