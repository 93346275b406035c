namespace SsePlugin;

/// <summary>A Qlik dual: a number and its text, such as a date's serial number and its formatted form.</summary>
/// <param name="Number">The numeric part; <see cref="double.NaN"/> when Qlik has none.</param>
/// <param name="Text">The text part; empty when Qlik has none.</param>
public readonly record struct SseDual(double Number, string Text);
