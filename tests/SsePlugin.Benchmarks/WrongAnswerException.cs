namespace SsePlugin.Benchmarks;

/// <summary>A server answered a call with the wrong rows.</summary>
internal sealed class WrongAnswerException(string message) : Exception(message);
