namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The run database cannot be used (a damaged page, not a database, an I/O error): the message says which file and
/// how to recover. The API answers 503 with it, and <c>/api/health</c> reports it.
/// </summary>
public sealed class RunStoreDamagedException : Exception
{
    /// <summary>Creates the error for database <paramref name="path"/> from what SQLite said.</summary>
    public RunStoreDamagedException(string path, string cause, Exception? inner = null)
        : base(Describe(path, cause), inner)
    {
        DatabasePath = path;
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    /// <summary>What is wrong and how to recover.</summary>
    public static string Describe(string path, string cause) =>
        $"The run database {path} is damaged ({cause}). Queued and past runs cannot be read or written. To recover: stop " +
        $"FlowDiffusion, move the file aside with its -wal and -shm files (mv {path} {path}.damaged), and start again: an " +
        "empty database is created. The moved file can be inspected or salvaged with `sqlite3 FILE .recover`.";
}
