using System.Globalization;
using SsePlugin.Rserve;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.R;

/// <summary>Converts between Qlik's columns and R values, as the R plugin does and where it failed.</summary>
internal static class RData
{
    // Qlik counts days from 1899-12-30, R from 1970-01-01.
    private const double QlikDaysAtUnixEpoch = 25569;

    /// <summary>
    /// The data frame <c>q</c>: one column per parameter, named after it. Numbers become doubles with Qlik's null
    /// (NaN) as R's NA, texts character vectors, and a dual both: its number under its name, its text as
    /// <c>name_str</c>.
    /// </summary>
    public static RList Frame(SseTable table, IReadOnlyList<ParameterDefinition> parameters)
    {
        var names = new List<string>(parameters.Count);
        var columns = new List<RValue>(parameters.Count);
        for (var p = 0; p < parameters.Count; p++)
        {
            var column = table.ColumnArray[p];
            var parameter = parameters[p];
            if (parameter.DataType != SseDataType.String)
            {
                names.Add(parameter.Name);
                columns.Add(new RDoubleVector(NullsAsNA(column.NumberArray!, table.RowCount), table.RowCount));
            }

            if (parameter.DataType != SseDataType.Numeric)
            {
                names.Add(parameter.DataType == SseDataType.Dual ? parameter.Name + "_str" : parameter.Name);
                columns.Add(new RStringVector(column.StringArray!, table.RowCount));
            }
        }

        return RFrames.DataFrame(names, columns, table.RowCount);
    }

    /// <summary>
    /// The answer to a call: a data frame becomes a table with its names and types (for <c>LOAD ... EXTENSION</c>);
    /// a vector one column of the declared return type, one value per row (a single value is repeated) or one value
    /// for an aggregation. Unless <paramref name="strict"/>, a vector of another length answers its values as they are.
    /// </summary>
    public static (SseColumn[] Columns, int Rows, SseTable? Description) Answer(
        RValue value, ScriptDefinition definition, long rowsIn, string function, bool strict)
    {
        if (RFrames.IsDataFrame(value))
        {
            var frame = (RList)value;
            if (frame.Items.Count == 0)
            {
                throw Refused(function, "returned a data.frame without columns; return at least one column.");
            }

            var names = frame.Names;
            var columns = new SseColumn[frame.Items.Count];
            for (var i = 0; i < columns.Length; i++)
            {
                var name = names?[i] ?? string.Empty;
                var (numbers, texts) = Values(frame.Items[i], function);
                columns[i] = numbers is null ? new SseColumn(name, texts!)
                    : texts is null ? new SseColumn(name, numbers)
                    : new SseColumn(name, numbers, texts);
            }

            var table = new SseTable(columns);
            return (columns, table.RowCount, table);
        }

        if (value is RList)
        {
            throw Refused(
                function,
                "returned a list; return a vector (one value per row) or a data.frame (a table for LOAD ... "
                + "EXTENSION).");
        }

        var (values, text) = Values(value, function);
        var length = values?.Length ?? text!.Length;
        var aggregation = definition.FunctionType == SseFunctionType.Aggregation;
        var rows = aggregation ? 1 : (int)rowsIn;
        if (length != rows && !(length == 1 && !aggregation))
        {
            rows = aggregation || strict
                ? throw Refused(
                    function,
                    aggregation
                        ? $"returned {length} values; an aggregation returns one value."
                        : $"returned {length} values for {rows} rows; return one value per row, in the order of q "
                            + "(SsePlugin:Rserve:StrictAnswerLength).")
                : length;
        }

        var column = definition.ReturnType switch
        {
            SseDataType.Numeric => new SseColumn(
                string.Empty,
                Repeat(
                    values ?? throw Refused(
                        function,
                        "returned text, but this function returns numbers; use the Str variant or as.numeric()."),
                    rows)),
            SseDataType.String => new SseColumn(string.Empty, Repeat(text ?? Format(values!), rows)),
            _ => new SseColumn(
                string.Empty, Repeat(values ?? NaNs(text!.Length), rows), Repeat(text ?? Format(values!), rows)),
        };
        return ([column], rows, null);
    }

    /// <summary>An R vector as Qlik numbers, texts or both (dates: the Qlik date number and its text).</summary>
    private static (double[]? Numbers, string[]? Texts) Values(RValue value, string function)
    {
        switch (value)
        {
            // Times arrive as their wall clock in UTC (the R side converts them from their own time zone).
            case RDoubleVector doubles when value.Inherits("Date"):
                return Dates(doubles, 1, "yyyy-MM-dd");
            case RDoubleVector doubles when value.Inherits("POSIXct"):
                return Dates(doubles, 86400, "yyyy-MM-dd HH:mm:ss");
            case RDoubleVector doubles:
                // NA and NaN are both NaN already: Qlik's null.
                return (
                    doubles.Values.Length == doubles.Length ? doubles.Values : doubles.Values[..doubles.Length],
                    null);
            case RIntegerVector factor when RFrames.IsFactor(value):
                return (null, Array.ConvertAll(RFrames.FactorLabels(factor), l => l ?? string.Empty));
            case RIntegerVector integers:
                var numbers = new double[integers.Length];
                for (var i = 0; i < numbers.Length; i++)
                {
                    numbers[i] = integers.Values[i] == RNa.Integer ? double.NaN : integers.Values[i];
                }

                return (numbers, null);
            case RLogicalVector logicals:
                var flags = new double[logicals.Length];
                for (var i = 0; i < flags.Length; i++)
                {
                    flags[i] = logicals.Values[i] == RNa.Logical ? double.NaN : logicals.Values[i];
                }

                return (flags, null);
            case RStringVector strings:
                var texts = new string[strings.Length];
                for (var i = 0; i < texts.Length; i++)
                {
                    texts[i] = strings.Values[i] ?? string.Empty;
                }

                return (null, texts);
            case RNull:
                return ([], null);
            default:
                throw Refused(
                    function,
                    "returned an R value that Qlik cannot take (e.g. a function or an environment); return numbers, "
                    + "text, logicals, dates, factors or a data.frame of them.");
        }
    }

    // A date or time: the Qlik date number and its text; one outside .NET's calendar (e.g. Inf) is null.
    private static (double[] Numbers, string[] Texts) Dates(RDoubleVector values, double unitsPerDay, string format)
    {
        var numbers = new double[values.Length];
        var texts = new string[values.Length];
        for (var i = 0; i < numbers.Length; i++)
        {
            var days = values.Values[i] / unitsPerDay;
            var valid = days is > -719_162 and < 2_932_896;
            numbers[i] = valid ? days + QlikDaysAtUnixEpoch : double.NaN;
            // To the millisecond: R's seconds are doubles, 10:31 may arrive as 10:30:59.9999999.
            var milliseconds = valid ? Math.Round(days * TimeSpan.MillisecondsPerDay) : 0;
            texts[i] = valid
                ? DateTime.UnixEpoch.AddMilliseconds(milliseconds).ToString(format, CultureInfo.InvariantCulture)
                : string.Empty;
        }

        return (numbers, texts);
    }

    private static double[] NullsAsNA(double[] numbers, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (double.IsNaN(numbers[i]))
            {
                numbers[i] = RNa.Double;
            }
        }

        return numbers;
    }

    // Numbers as text the way R prints them (15 significant digits); NA and NaN as empty text.
    private static string[] Format(double[] numbers)
    {
        var texts = new string[numbers.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = double.IsNaN(numbers[i])
                ? string.Empty
                : numbers[i].ToString("G15", CultureInfo.InvariantCulture);
        }

        return texts;
    }

    private static double[] NaNs(int length)
    {
        var nans = new double[length];
        Array.Fill(nans, double.NaN);
        return nans;
    }

    private static T[] Repeat<T>(T[] values, int rows)
    {
        if (values.Length == rows)
        {
            return values;
        }

        var repeated = new T[rows];
        Array.Fill(repeated, values[0]);
        return repeated;
    }

    private static CallFailure Refused(string function, string problem) =>
        new(CallFailureKind.InvalidInput, $"{function}: the R script {problem}");
}
