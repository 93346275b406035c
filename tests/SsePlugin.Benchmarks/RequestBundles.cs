using Google.Protobuf;
using Qlik.Sse;

namespace SsePlugin.Benchmarks;

/// <summary>
/// The request rows the tool sends, serialized once up front so that sending costs the client nothing. Row
/// <c>i</c> holds <see cref="First"/>(i) and, with two columns, <see cref="Second"/>(i).
/// </summary>
internal static class RequestBundles
{
    /// <summary>Rows per <see cref="BundledRows"/> message, as Qlik's engine sends them.</summary>
    public const int BundleRows = 2000;

    /// <summary>The first column's value in row <paramref name="row"/>.</summary>
    public static double First(long row) => (row + 1) * 0.5;

    /// <summary>The second column's value in row <paramref name="row"/>.</summary>
    public static double Second(long row) => (row % 1000) + 1;

    /// <summary>
    /// Serializes rows 0 to <paramref name="rows"/> - 1 into messages of <see cref="BundleRows"/> rows.
    /// </summary>
    public static byte[][] Build(int columns, int rows)
    {
        var bundles = new byte[(rows + BundleRows - 1) / BundleRows][];
        for (var b = 0; b < bundles.Length; b++)
        {
            var message = new BundledRows();
            var end = Math.Min(rows, (b + 1) * BundleRows);
            for (var i = b * BundleRows; i < end; i++)
            {
                var row = new Row { Duals = { new Dual { NumData = First(i) } } };
                if (columns == 2)
                {
                    row.Duals.Add(new Dual { NumData = Second(i) });
                }

                message.Rows.Add(row);
            }

            bundles[b] = message.ToByteArray();
        }

        return bundles;
    }

    /// <summary>The messages holding the first <paramref name="rows"/> rows of <paramref name="bundles"/>.</summary>
    public static ArraySegment<byte[]> Prefix(byte[][] bundles, int rows)
    {
        if (rows % BundleRows != 0 || rows / BundleRows > bundles.Length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(rows), rows, $"Only whole {BundleRows}-row messages of the prepared rows can be sent.");
        }

        return new ArraySegment<byte[]>(bundles, 0, rows / BundleRows);
    }
}
