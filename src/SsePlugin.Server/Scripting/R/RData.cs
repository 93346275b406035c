using System.Globalization;
using Grpc.Core;
using SsePlugin.Rserve;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Scripting.R;

/// <summary>Converts between Qlik's columns and R values, as the R plugin does and where it failed.</summary>
internal static class RData
{
    // Qlik counts days from 1899-12-30, R from 1970-01-01.
    private const double QlikDaysAtUnixEpoch = 25569;

    /// <summary>
    /// The data frame <c>q</c>: one column per parameter, named after it. Numbers become doubles with Qlik's null
    /// (NaN) as R's NA, texts character vectors, and a dual both: its number under its name, its text as <c>name_str</c>.
    /// </summary>
    public static RList Frame(SseTable table, IReadOnlyList<SseParameter> parameters)
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
    /// for an aggregation.
    /// </summary>
    public static (SseColumn[] Columns, int Rows, SseTable? Description) Answer(RValue value, ScriptDefinition definition, long rowsIn, string function)
    {
        if (RFrames.IsDataFrame(value))
        {
            var frame = (RList)value;
            var columns = new SseColumn[frame.Items.Count];
            for (var i = 0; i < columns.Length; i++)
            {
                var name = frame.Names?[i] ?? string.Empty;
                var (numbers, texts) = Values(frame.Items[i], function);
                columns[i] = numbers is null ? new SseColumn(name, texts!) : texts is null ? new SseColumn(name, numbers) : new SseColumn(name, numbers, texts);
            }

            var table = new SseTable(columns);
            return (columns, table.RowCount, table);
        }

        if (value is RList)
        {
            throw Refused(function, "returned a list; return a vector (one value per row) or a data.frame (a table for LOAD ... EXTENSION).");
        }

        var (values, text) = Values(value, function);
        var length = (values?.Length ?? text!.Length);
        var rows = definition.FunctionType == SseFunctionType.Aggregation ? 1 : (int)rowsIn;
        if (length != rows && !(length == 1 && definition.FunctionType != SseFunctionType.Aggregation))
        {
            throw Refused(
                function,
                definition.FunctionType == SseFunctionType.Aggregation
                    ? $"returned {length} values; an aggregation returns one value."
                    : $"returned {length} values for {rows} rows; return one value per row, in the order of q.");
        }

        var column = definition.ReturnType switch
        {
            SseDataType.Numeric => new SseColumn(string.Empty, Repeat(values ?? throw Refused(function, "returned text, but this function returns numbers; use the Str variant or as.numeric()."), rows)),
            SseDataType.String => new SseColumn(string.Empty, Repeat(text ?? Format(values!), rows)),
            _ => new SseColumn(string.Empty, Repeat(values ?? NaNs(text!.Length), rows), Repeat(text ?? Format(values!), rows)),
        };
        return ([column], rows, null);
    }

    /// <summary>An R vector as Qlik numbers, texts or both (dates: the Qlik date number and its text).</summary>
    private static (double[]? Numbers, string[]? Texts) Values(RValue value, string function)
    {
        switch (value)
        {
            case RDoubleVector doubles when value.Inherits("Date"):
                return (Map(doubles.Values, doubles.Length, d => d + QlikDaysAtUnixEpoch), Map(doubles.Values, doubles.Length, d => DateTime.UnixEpoch.AddDays(d).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
            case RDoubleVector doubles when value.Inherits("POSIXct"):
                return (Map(doubles.Values, doubles.Length, s => (s / 86400) + QlikDaysAtUnixEpoch), Map(doubles.Values, doubles.Length, s => DateTime.UnixEpoch.AddSeconds(s).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)));
            case RDoubleVector doubles:
                // NA and NaN are both NaN already: Qlik's null.
                return (doubles.Values.Length == doubles.Length ? doubles.Values : doubles.Values[..doubles.Length], null);
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
                throw Refused(function, "returned an R value that Qlik cannot take (e.g. a function or an environment); return numbers, text, logicals, dates, factors or a data.frame of them.");
        }
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

    // R's NA and NaN both reach Qlik as NaN, its null.
    private static double[] Map(double[] values, int length, Func<double, double> map)
    {
        var result = new double[length];
        for (var i = 0; i < length; i++)
        {
            result[i] = double.IsNaN(values[i]) ? double.NaN : map(values[i]);
        }

        return result;
    }

    private static string[] Map(double[] values, int length, Func<double, string> format)
    {
        var result = new string[length];
        for (var i = 0; i < length; i++)
        {
            result[i] = double.IsNaN(values[i]) ? string.Empty : format(values[i]);
        }

        return result;
    }

    private static string[] Format(double[] numbers) =>
        Map(numbers, numbers.Length, n => n.ToString("R", CultureInfo.InvariantCulture));

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

    private static SseCallException Refused(string function, string problem) =>
        new(StatusCode.InvalidArgument, $"{function}: the R script {problem}");
}
