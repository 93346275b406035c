namespace SsePlugin.Rserve.Tests;

/// <summary>Assertions over decoded R values.</summary>
internal static class RAssert
{
    /// <summary>Asserts that a value is an R vector with exactly these elements, and returns it.</summary>
    public static RVector<T> Elements<T>(RValue actual, params T[] expected)
    {
        var vector = Assert.IsAssignableFrom<RVector<T>>(actual);
        Assert.Equal(expected.AsEnumerable(), vector.AsSpan().ToArray());
        return vector;
    }

    /// <summary>
    /// Asserts a list of texts, such as names or factor labels; <see langword="null"/> stands for NA.
    /// </summary>
    public static void Texts(IEnumerable<string?>? actual, params string?[] expected)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.AsEnumerable(), actual);
    }
}
