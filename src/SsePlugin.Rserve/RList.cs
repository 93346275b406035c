namespace SsePlugin.Rserve;

/// <summary>An R generic vector (a list), such as a data frame's columns; pairlists are decoded as lists too.</summary>
public sealed class RList : RValue
{
    /// <summary>Creates the list.</summary>
    /// <param name="items">The elements.</param>
    public RList(IReadOnlyList<RValue> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = items;
    }

    /// <summary>Gets the elements.</summary>
    public IReadOnlyList<RValue> Items { get; }

    /// <summary>
    /// Gets the element names from the <c>names</c> attribute, or <see langword="null"/> when there is none.
    /// </summary>
    public IReadOnlyList<string?>? Names => (GetAttribute("names") as RStringVector)?.AsReadOnlyList();

    /// <inheritdoc/>
    public override int Length => Items.Count;
}
