namespace SsePlugin.Server.Security;

/// <summary>Thrown when a certificate folder cannot be used; lists every file at fault and its problem.</summary>
public sealed class CertificateFolderException : Exception
{
    /// <summary>Creates the exception from the problems found.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="problems">Every problem, each naming its file.</param>
    public CertificateFolderException(string directory, IReadOnlyList<string> problems)
        : base($"{problems.Count} problem(s) in the certificate folder {directory}; "
            + "without them fixed there is no TLS, and nothing is served:"
            + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  " + p)))
    {
        Directory = directory;
        Problems = problems;
    }

    /// <summary>Gets the folder.</summary>
    public string Directory { get; }

    /// <summary>Gets every problem found, each starting with its file's name.</summary>
    public IReadOnlyList<string> Problems { get; }
}
