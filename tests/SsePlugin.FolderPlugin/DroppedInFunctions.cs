namespace SsePlugin.FolderPlugin;

/// <summary>Functions loaded from the functions folder, not compiled into the host.</summary>
public static class DroppedInFunctions
{
    /// <summary>Triples each number.</summary>
    /// <param name="value">The number.</param>
    /// <returns>Three times the number.</returns>
    [SseFunction(500, SseFunctionType.Tensor)]
    public static double Triple(double value) => value * 3;

    /// <summary>Measures each text.</summary>
    /// <param name="text">The text.</param>
    /// <returns>Its length in UTF-16 code units.</returns>
    [SseFunction(501, SseFunctionType.Tensor)]
    public static double TextLength(string text) => text.Length;

    /// <summary>
    /// Measures the memory the host process keeps, for tests that run the host in a process of its own.
    /// </summary>
    /// <param name="ignored">Any column of numbers.</param>
    /// <returns>The host's managed heap after a full collection, in bytes.</returns>
    [SseFunction(502, SseFunctionType.Aggregation)]
    public static double ManagedMemory(double[] ignored)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

/// <summary>Functions of a class that is not public, which the folder serves as well.</summary>
internal static class InternalFunctions
{
    /// <summary>Negates each number.</summary>
    /// <param name="value">The number.</param>
    /// <returns>The number with its sign turned.</returns>
    [SseFunction(503, SseFunctionType.Tensor)]
    public static double Negate(double value) => -value;
}
