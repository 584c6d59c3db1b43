using System.Diagnostics;
using System.Globalization;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// One executing process per run database: the embedded backend takes an exclusive lock on <c>runs.db.lock</c> before it
/// dispatches, and a second process on the same file (the editor and <c>serve</c> started in one folder) stops with an
/// error that names the owner, instead of recovering the first one's running runs as crashed and running them again.
/// The operating system drops the lock when the owner dies, however it dies, so a crash never leaves a stale lock.
/// </summary>
public sealed class StoreOwnerLock : IDisposable
{
    private readonly FileStream _lock;

    private StoreOwnerLock(FileStream lockFile) => _lock = lockFile;

    /// <summary>Takes the lock of database <paramref name="databasePath"/>, or throws naming the process that holds it.</summary>
    /// <exception cref="InvalidOperationException">Another process holds it.</exception>
    public static StoreOwnerLock Acquire(string databasePath)
    {
        var lockPath = databasePath + ".lock";
        var ownerPath = databasePath + ".owner";
        FileStream file;
        try
        {
            // FileShare.None is an exclusive advisory lock on Unix (flock) and a sharing lock on Windows.
            file = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            var owner = File.Exists(ownerPath) ? File.ReadAllText(ownerPath).Trim() : "another process";
            throw new InvalidOperationException(
                $"The run database {databasePath} is in use by {owner}. Two FlowDiffusion processes (the editor and 'serve', say) " +
                "cannot execute runs from one database: stop the other one, or give this one its own data folder " +
                "(--config FlowDiffusion:DataFolder=DIR, or FLOWDIFFUSION_FlowDiffusion__DataFolder).");
        }
        using var process = Process.GetCurrentProcess();
        File.WriteAllText(ownerPath, string.Create(CultureInfo.InvariantCulture,
            $"process {Environment.ProcessId} ({process.ProcessName}) on {Environment.MachineName}, since {DateTimeOffset.UtcNow:u}"));
        return new StoreOwnerLock(file);
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();
}
