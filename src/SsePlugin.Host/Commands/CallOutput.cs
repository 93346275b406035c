using System.Globalization;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using SsePlugin.Client;

namespace SsePlugin.Host.Commands;

/// <summary>What a load test measured.</summary>
/// <param name="Calls">The calls made.</param>
/// <param name="Failures">The failed calls by their status code.</param>
/// <param name="RowsSent">The rows sent, all calls together.</param>
/// <param name="Elapsed">The time from the first call to the last answer.</param>
/// <param name="Latencies">Each call's time, in milliseconds, sorted.</param>
internal sealed record LoadSummary(
    int Calls, IReadOnlyDictionary<StatusCode, int> Failures, long RowsSent, TimeSpan Elapsed, double[] Latencies)
{
    /// <summary>Gets the rows sent per second.</summary>
    public double RowsPerSecond => RowsSent / Math.Max(Elapsed.TotalSeconds, 1e-9);

    /// <summary>Gets the latency below which <paramref name="percent"/> % of the calls answered, in milliseconds.
    /// </summary>
    public double Percentile(int percent) =>
        Latencies[Math.Clamp((int)Math.Ceiling(percent / 100.0 * Latencies.Length) - 1, 0, Latencies.Length - 1)];
}

/// <summary>
/// How <c>call</c> prints an answer: a table with aligned columns under the field names, then the <c>qlik-cache</c>
/// header and the table description; or JSON for machines.
/// </summary>
internal static class CallOutput
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>Prints an answer as a table, then its cache header and table description.</summary>
    public static void Table(TextWriter output, string function, SseDataType returnType, SseAnswer answer)
    {
        var fields = Fields(function, returnType, answer);
        var cells = answer.Rows.Select(row => row.Select((dual, i) => Cell(dual, Type(fields, i))).ToArray()).ToList();
        var widths = fields.Select((field, i) => cells.Select(row => i < row.Length ? row[i].Length : 0)
            .Append(field.Name.Length).Max()).ToArray();
        output.WriteLine(Line(fields.Select(f => f.Name).ToArray(), fields, widths));
        output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in cells)
        {
            output.WriteLine(Line(row, fields, widths));
        }

        output.WriteLine($"({answer.Rows.Count} rows)");
        output.WriteLine($"qlik-cache: {answer.Cache ?? "(none: Qlik may cache the answer)"}");
        output.WriteLine("table description: " + (answer.Table is { } table
            ? $"{table.Name}, {table.NumberOfRows} rows announced, fields "
                + string.Join(", ", table.Fields.Select(f => $"{f.Name} ({f.DataType})"))
            : "(none)"));
    }

    /// <summary>Prints an answer as JSON: function, status, message, fields, rows, cache, tableDescription.</summary>
    public static void Json(TextWriter output, string function, SseDataType returnType, SseAnswer answer)
    {
        var fields = Fields(function, returnType, answer);
        WriteJson(output, json =>
        {
            json.WriteString("function", function);
            json.WriteString("status", answer.StatusCode.ToString());
            json.WriteString("message", answer.Status.Detail);
            json.WriteStartArray("fields");
            foreach (var field in fields)
            {
                json.WriteStartObject();
                json.WriteString("name", field.Name);
                json.WriteString("type", field.DataType.ToString());
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("rows");
            foreach (var row in answer.Rows)
            {
                json.WriteStartArray();
                for (var i = 0; i < row.Count; i++)
                {
                    JsonValue(json, row[i], Type(fields, i));
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteString("cache", answer.Cache);
            json.WritePropertyName("tableDescription");
            if (answer.Table is { } table)
            {
                json.WriteStartObject();
                json.WriteString("name", table.Name);
                json.WriteNumber("numberOfRows", table.NumberOfRows);
                json.WriteStartArray("fields");
                foreach (var field in table.Fields)
                {
                    json.WriteStartObject();
                    json.WriteString("name", field.Name);
                    json.WriteString("type", field.DataType.ToString());
                    json.WriteStartArray("tags");
                    field.Tags.ToList().ForEach(json.WriteStringValue);
                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }
            else
            {
                json.WriteNullValue();
            }
        });
    }

    /// <summary>Prints a load test's summary: calls, failures by status, rows/s, p50 and p99 latency.</summary>
    public static void Summary(TextWriter output, LoadSummary summary, bool asJson)
    {
        if (asJson)
        {
            WriteJson(output, json =>
            {
                json.WriteNumber("calls", summary.Calls);
                json.WriteStartObject("failures");
                foreach (var (status, count) in summary.Failures)
                {
                    json.WriteNumber(status.ToString(), count);
                }

                json.WriteEndObject();
                json.WriteNumber("rowsSent", summary.RowsSent);
                json.WriteNumber("seconds", Math.Round(summary.Elapsed.TotalSeconds, 3));
                json.WriteNumber("rowsPerSecond", Math.Round(summary.RowsPerSecond));
                json.WriteNumber("p50Milliseconds", Math.Round(summary.Percentile(50), 2));
                json.WriteNumber("p99Milliseconds", Math.Round(summary.Percentile(99), 2));
            });
            return;
        }

        var failed = summary.Failures.Values.Sum();
        var failures = failed == 0
            ? string.Empty
            : ": " + string.Join(", ", summary.Failures.Select(f => $"{f.Key} {f.Value}"));
        output.WriteLine(FormattableString.Invariant(
            $"calls: {summary.Calls}, {summary.Calls - failed} succeeded, {failed} failed{failures}"));
        output.WriteLine(FormattableString.Invariant(
            $"rows: {summary.RowsSent} sent in {summary.Elapsed.TotalSeconds:0.00} s, {summary.RowsPerSecond:0}")
            + " rows/s");
        output.WriteLine(FormattableString.Invariant(
            $"latency: p50 {summary.Percentile(50):0.0} ms, p99 {summary.Percentile(99):0.0} ms"));
    }

    private static void WriteJson(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Indented))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    // The table description's fields; without one, a column named after the function (more: col1, col2, ...) of its
    // return type.
    private static IReadOnlyList<SseField> Fields(string function, SseDataType returnType, SseAnswer answer)
    {
        var width = answer.Rows.Count == 0 ? 1 : answer.Rows.Max(row => row.Count);
        if (answer.Table is { Fields.Count: > 0 } table && table.Fields.Count >= width)
        {
            return table.Fields;
        }

        return width == 1
            ? [new SseField(function, returnType, [])]
            : [.. Enumerable.Range(1, width).Select(i => new SseField($"col{i}", returnType, []))];
    }

    private static SseDataType Type(IReadOnlyList<SseField> fields, int column) =>
        column < fields.Count ? fields[column].DataType : SseDataType.Dual;

    // A value as call reads it: a number, a text, or number|text.
    private static string Cell(SseDual dual, SseDataType type) => type switch
    {
        SseDataType.Numeric => Number(dual.Number),
        SseDataType.String => dual.Text,
        _ => $"{Number(dual.Number)}|{dual.Text}",
    };

    private static string Number(double number) =>
        double.IsNaN(number) ? "null" : number.ToString(CultureInfo.InvariantCulture);

    private static void JsonValue(Utf8JsonWriter json, SseDual dual, SseDataType type)
    {
        if (type == SseDataType.String)
        {
            json.WriteStringValue(dual.Text);
            return;
        }

        if (type == SseDataType.Dual)
        {
            json.WriteStartObject();
            json.WritePropertyName("number");
        }

        if (double.IsFinite(dual.Number))
        {
            json.WriteNumberValue(dual.Number);
        }
        else
        {
            json.WriteNullValue();
        }

        if (type == SseDataType.Dual)
        {
            json.WriteString("text", dual.Text);
            json.WriteEndObject();
        }
    }

    private static string Line(string[] cells, IReadOnlyList<SseField> fields, int[] widths) =>
        string.Join("  ", widths.Select((width, i) =>
        {
            var cell = i < cells.Length ? cells[i] : string.Empty;
            return Type(fields, i) == SseDataType.Numeric ? cell.PadLeft(width) : cell.PadRight(width);
        })).TrimEnd();
}
