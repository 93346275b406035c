namespace SsePlugin.Sample;

/// <summary>The sample's functions: Qlik calls them as <c>Sample.Celsius(Fahrenheit)</c> and so on.</summary>
public sealed class TemperatureFunctions
{
    /// <summary>Converts a temperature from degrees Fahrenheit to degrees Celsius, row by row.</summary>
    /// <param name="fahrenheit">The temperature in degrees Fahrenheit.</param>
    /// <returns>The temperature in degrees Celsius.</returns>
    [SseFunction(0, SseFunctionType.Scalar)]
    public static double Celsius(double fahrenheit) => (fahrenheit - 32) * 5 / 9;

    /// <summary>Finds the widest swing of a column of temperatures: its highest minus its lowest.</summary>
    /// <param name="temperatures">The temperatures.</param>
    /// <returns>The highest minus the lowest; 0 for no rows.</returns>
    [SseFunction(1, SseFunctionType.Aggregation)]
    public static double Swing(double[] temperatures) =>
        temperatures.Length == 0 ? 0 : temperatures.Max() - temperatures.Min();
}
