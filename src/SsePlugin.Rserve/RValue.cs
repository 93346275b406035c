namespace SsePlugin.Rserve;

/// <summary>
/// A value of R as it travels over QAP1: a vector, a generic list, a symbol, <c>NULL</c>, or something the client does
/// not decode (<see cref="RUnsupported"/>).
/// </summary>
public abstract class RValue
{
    private protected RValue()
    {
    }

    /// <summary>
    /// Gets the attributes (name, value) in R's order; <see langword="null"/> (the default) when there are none.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, RValue>>? Attributes { get; init; }

    /// <summary>Gets R's class attribute, or <see langword="null"/> when the value has none.</summary>
    public IReadOnlyList<string?>? Class => (GetAttribute("class") as RStringVector)?.AsReadOnlyList();

    /// <summary>Gets the number of elements, as R's <c>length()</c>; 1 for values that are not vectors.</summary>
    public virtual int Length => 1;

    /// <summary>Gets an attribute by name.</summary>
    /// <param name="name">The attribute's name, such as <c>names</c> or <c>levels</c>.</param>
    /// <returns>The attribute's value, or <see langword="null"/> when there is no such attribute.</returns>
    public RValue? GetAttribute(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var attributes = Attributes;
        if (attributes is null)
        {
            return null;
        }

        for (var i = 0; i < attributes.Count; i++)
        {
            if (attributes[i].Key == name)
            {
                return attributes[i].Value;
            }
        }

        return null;
    }

    /// <summary>
    /// Tells whether <paramref name="className"/> is one of the value's classes, as R's <c>inherits()</c> for S3
    /// classes.
    /// </summary>
    /// <param name="className">The class, such as <c>data.frame</c>.</param>
    /// <returns><see langword="true"/> when the class attribute names it.</returns>
    public bool Inherits(string className)
    {
        ArgumentNullException.ThrowIfNull(className);
        var classes = Class;
        if (classes is null)
        {
            return false;
        }

        for (var i = 0; i < classes.Count; i++)
        {
            if (classes[i] == className)
            {
                return true;
            }
        }

        return false;
    }
}
