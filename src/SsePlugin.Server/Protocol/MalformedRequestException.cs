namespace SsePlugin.Server.Protocol;

/// <summary>
/// A request message that is not a valid <c>BundledRows</c>: the caller's fault, answered with
/// <c>InvalidArgument</c>, unlike an exception a function throws (such as <see cref="InvalidDataException"/>), which is
/// the function's.
/// </summary>
/// <param name="message">What is wrong with the message.</param>
internal sealed class MalformedRequestException(string message) : Exception(message);
