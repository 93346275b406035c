namespace SsePlugin.Rserve;

/// <summary>An R symbol (a name), as in attribute tags or <c>quote(x)</c>.</summary>
public sealed class RSymbol : RValue
{
    /// <summary>Creates the symbol.</summary>
    /// <param name="name">The symbol's name; empty for R's missing-argument symbol.</param>
    public RSymbol(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
    }

    /// <summary>Gets the symbol's name.</summary>
    public string Name { get; }
}
