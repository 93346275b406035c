namespace SsePlugin.FolderPlugin;

/// <summary>Functions loaded from the functions folder, not compiled into the host.</summary>
public static class DroppedInFunctions
{
    /// <summary>Triples each number.</summary>
    /// <param name="value">The number.</param>
    /// <returns>Three times the number.</returns>
    [SseFunction(500, SseFunctionType.Tensor)]
    public static double Triple(double value) => value * 3;
}
