using SsePlugin;

namespace SsePluginHost;

/// <summary>Functions Qlik calls as <c>Alias.Margin(Sales, Cost)</c>.</summary>
public static class MarginFunctions
{
    /// <summary>Per row: the share of the sales kept after the cost; null in Qlik (NaN) without sales.</summary>
    [SseFunction(100, SseFunctionType.Tensor)]
    public static double Margin(double sales, double cost) => sales == 0 ? double.NaN : (sales - cost) / sales;
}
