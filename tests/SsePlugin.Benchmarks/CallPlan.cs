using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;

namespace SsePlugin.Benchmarks;

/// <summary>One call: its RPC and Qlik headers, its serialized request messages and the answer it must get.</summary>
/// <param name="Rpc">ExecuteFunction or EvaluateScript.</param>
/// <param name="Header">The function or script header: its metadata key and serialized message.</param>
/// <param name="Rows">The rows sent.</param>
/// <param name="Bundles">The serialized <see cref="BundledRows"/> messages.</param>
/// <param name="ExpectedRows">The rows the answer must hold.</param>
/// <param name="ExpectedSum">The sum of the answer's first column.</param>
internal sealed record CallPlan(
    string Rpc, (string Key, byte[] Value) Header, int Rows, IReadOnlyList<byte[]> Bundles, long ExpectedRows,
    double ExpectedSum)
{
    /// <summary>Gets the metadata Qlik sends with the call.</summary>
    public Metadata Headers { get; } = new()
    {
        { Header.Key, Header.Value },
        {
            "qlik-commonrequestheader-bin",
            new CommonRequestHeader { AppId = "bench", UserId = "bench", Cardinality = Rows }.ToByteArray()},
    };

    /// <summary>
    /// A tensor SumOfRows call over the first <paramref name="rows"/> two-column rows; it answers col1 + col2 per row.
    /// </summary>
    /// <param name="rows">The rows to send.</param>
    /// <param name="prepared">Prepared two-column messages to take them from; without, they are serialized now.</param>
    public static CallPlan SumOfRows(int rows, byte[][]? prepared = null)
    {
        var sum = 0d;
        for (var i = 0; i < rows; i++)
        {
            sum += RequestBundles.First(i) + RequestBundles.Second(i);
        }

        return new("ExecuteFunction", Function(5), rows, Take(prepared, 2, rows), rows, sum);
    }

    /// <summary>
    /// A tensor <c>ScriptEval(script, a, b)</c> call over the same rows as <see cref="SumOfRows"/>; the script adds a
    /// and b, or answers what <paramref name="answer"/> does.
    /// </summary>
    /// <param name="rows">The rows to send.</param>
    /// <param name="prepared">Prepared two-column messages to take them from; without, they are serialized now.</param>
    /// <param name="script">The script, in the language of the server's script engine.</param>
    /// <param name="answer">The script's answer for a row's a and b, if not their sum.</param>
    public static CallPlan ScriptEval(
        int rows, byte[][]? prepared, string script, Func<double, double, double>? answer = null)
    {
        var header = new ScriptRequestHeader
        {
            Script = script,
            FunctionType = FunctionType.Tensor,
            ReturnType = DataType.Numeric,
        };
        header.Params.Add(new Parameter { Name = "a", DataType = DataType.Numeric });
        header.Params.Add(new Parameter { Name = "b", DataType = DataType.Numeric });
        var sums = SumOfRows(rows, prepared);
        var expected = sums.ExpectedSum;
        if (answer is not null)
        {
            expected = 0;
            for (var i = 0; i < rows; i++)
            {
                expected += answer(RequestBundles.First(i), RequestBundles.Second(i));
            }
        }

        return new(
            "EvaluateScript", ("qlik-scriptrequestheader-bin", header.ToByteArray()), rows, sums.Bundles,
            sums.ExpectedRows, expected);
    }

    /// <summary>
    /// An aggregation SumOfColumn call over the first <paramref name="rows"/> one-column rows; it answers one row.
    /// </summary>
    /// <param name="rows">The rows to send.</param>
    /// <param name="prepared">Prepared one-column messages to take them from; without, they are serialized now.</param>
    public static CallPlan SumOfColumn(int rows, byte[][]? prepared = null)
    {
        var sum = 0d;
        for (var i = 0; i < rows; i++)
        {
            sum += RequestBundles.First(i);
        }

        return new("ExecuteFunction", Function(6), rows, Take(prepared, 1, rows), 1, sum);
    }

    /// <summary>
    /// Throws <see cref="WrongAnswerException"/> unless <paramref name="answer"/> is the expected one.
    /// </summary>
    public void Check(AnswerTally answer)
    {
        var tolerance = 1e-9 * Math.Max(1, Math.Abs(ExpectedSum));
        if (answer.Rows != ExpectedRows || !(Math.Abs(answer.Sum - ExpectedSum) <= tolerance))
        {
            throw new WrongAnswerException(
                $"{Rpc} over {Rows} rows answered {answer.Rows} rows summing to {answer.Sum:R}; "
                + $"expected {ExpectedRows} rows summing to {ExpectedSum:R}");
        }
    }

    private static (string, byte[]) Function(int id) =>
        ("qlik-functionrequestheader-bin", new FunctionRequestHeader { FunctionId = id, Version = "" }.ToByteArray());

    private static IReadOnlyList<byte[]> Take(byte[][]? prepared, int columns, int rows) =>
        prepared is null ? RequestBundles.Build(columns, rows) : RequestBundles.Prefix(prepared, rows);
}
