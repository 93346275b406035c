using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;

namespace SsePlugin.Benchmarks;

/// <summary>One <c>ExecuteFunction</c> call: its Qlik headers, its serialized request messages and the answer it must get.</summary>
/// <param name="FunctionId">The function called: 5 SumOfRows or 6 SumOfColumn.</param>
/// <param name="Rows">The rows sent.</param>
/// <param name="Bundles">The serialized <see cref="BundledRows"/> messages.</param>
/// <param name="ExpectedRows">The rows the answer must hold.</param>
/// <param name="ExpectedSum">The sum of the answer's first column.</param>
internal sealed record CallPlan(int FunctionId, int Rows, IReadOnlyList<byte[]> Bundles, long ExpectedRows, double ExpectedSum)
{
    /// <summary>Gets the metadata Qlik sends with the call.</summary>
    public Metadata Headers { get; } = new()
    {
        { "qlik-functionrequestheader-bin", new FunctionRequestHeader { FunctionId = FunctionId, Version = "" }.ToByteArray() },
        { "qlik-commonrequestheader-bin", new CommonRequestHeader { AppId = "bench", UserId = "bench", Cardinality = Rows }.ToByteArray() },
    };

    /// <summary>A tensor SumOfRows call over the first <paramref name="rows"/> two-column rows; it answers col1 + col2 per row.</summary>
    /// <param name="rows">The rows to send.</param>
    /// <param name="prepared">Prepared two-column messages to take them from; without, they are serialized now.</param>
    public static CallPlan SumOfRows(int rows, byte[][]? prepared = null)
    {
        var sum = 0d;
        for (var i = 0; i < rows; i++)
        {
            sum += RequestBundles.First(i) + RequestBundles.Second(i);
        }

        return new(5, rows, Take(prepared, 2, rows), rows, sum);
    }

    /// <summary>An aggregation SumOfColumn call over the first <paramref name="rows"/> one-column rows; it answers one row.</summary>
    /// <param name="rows">The rows to send.</param>
    /// <param name="prepared">Prepared one-column messages to take them from; without, they are serialized now.</param>
    public static CallPlan SumOfColumn(int rows, byte[][]? prepared = null)
    {
        var sum = 0d;
        for (var i = 0; i < rows; i++)
        {
            sum += RequestBundles.First(i);
        }

        return new(6, rows, Take(prepared, 1, rows), 1, sum);
    }

    /// <summary>Throws <see cref="WrongAnswerException"/> unless <paramref name="answer"/> is the expected one.</summary>
    public void Check(AnswerTally answer)
    {
        var tolerance = 1e-9 * Math.Max(1, Math.Abs(ExpectedSum));
        if (answer.Rows != ExpectedRows || !(Math.Abs(answer.Sum - ExpectedSum) <= tolerance))
        {
            throw new WrongAnswerException(
                $"function {FunctionId} over {Rows} rows answered {answer.Rows} rows summing to {answer.Sum:R}; "
                + $"expected {ExpectedRows} rows summing to {ExpectedSum:R}");
        }
    }

    private static IReadOnlyList<byte[]> Take(byte[][]? prepared, int columns, int rows) =>
        prepared is null ? RequestBundles.Build(columns, rows) : RequestBundles.Prefix(prepared, rows);
}
