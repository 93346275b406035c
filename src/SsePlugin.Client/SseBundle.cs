using Qlik.Sse;

namespace SsePlugin.Client;

/// <summary>
/// Rows that travel in one request message (<c>BundledRows</c>), as Qlik's engine bundles them; a call sends one or
/// more bundles, in order.
/// </summary>
public sealed class SseBundle
{
    /// <summary>Initializes a bundle of the given rows, each a value per parameter, in parameter order.</summary>
    /// <param name="rows">The rows.</param>
    public SseBundle(IEnumerable<SseValue[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        Message = new BundledRows();
        foreach (var values in rows)
        {
            var row = new Row();
            foreach (var value in values)
            {
                row.Duals.Add(value.ToDual());
            }

            Message.Rows.Add(row);
        }
    }

    /// <summary>Gets how many rows the bundle holds.</summary>
    public int Count => Message.Rows.Count;

    /// <summary>Gets the message as it goes on the wire.</summary>
    internal BundledRows Message { get; }

    /// <summary>Splits rows into bundles of at most <paramref name="rowsPerBundle"/> rows, as Qlik does.</summary>
    /// <param name="rows">The rows.</param>
    /// <param name="rowsPerBundle">The most rows in one bundle.</param>
    /// <returns>The bundles.</returns>
    public static IReadOnlyList<SseBundle> Split(IEnumerable<SseValue[]> rows, int rowsPerBundle)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerBundle, 1);
        return [.. rows.Chunk(rowsPerBundle).Select(chunk => new SseBundle(chunk))];
    }
}
