using System.Globalization;
using Microsoft.Data.Sqlite;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The run queue and history in one SQLite file (WAL journal, so readers never wait for the dispatcher).
/// Queue order is <c>priority DESC, seq ASC</c>: <c>seq</c> is the insertion order, which survives restarts.
/// </summary>
public sealed class SqliteRunStore : IRunStore
{
    private const string Columns =
        "id, status, priority, submitted, started, finished, workflow, yaml, inputs, nodes, outputs, error, idempotency_key, attempts";

    private readonly string _connectionString;

    // SQLite allows one writer; serialising here avoids busy retries between the API and the dispatcher.
    private readonly SemaphoreSlim _write = new(1, 1);

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>.</summary>
    public SqliteRunStore(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        using var connection = Open();
        Execute(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS runs (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL,
                priority INTEGER NOT NULL DEFAULT 0,
                submitted TEXT NOT NULL,
                started TEXT,
                finished TEXT,
                workflow TEXT,
                yaml TEXT NOT NULL,
                inputs TEXT NOT NULL,
                nodes TEXT,
                outputs TEXT,
                error TEXT,
                idempotency_key TEXT UNIQUE,
                attempts INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS runs_queue ON runs (status, priority DESC, seq);
            """);
    }

    /// <inheritdoc />
    public async Task<(RunRecord Run, bool Created)> AddAsync(RunSubmission submission, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            using var connection = Open();
            if (submission.IdempotencyKey is { } key && QueryOne(connection, "idempotency_key = $key", ("$key", key)) is { } existing)
                return (existing, false);
            var id = Guid.NewGuid().ToString("N");
            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO runs (id, status, priority, submitted, workflow, yaml, inputs, idempotency_key)
                VALUES ($id, 'queued', $priority, $submitted, $workflow, $yaml, $inputs, $key)
                """;
            Bind(insert, ("$id", id), ("$priority", submission.Priority), ("$submitted", Time(DateTimeOffset.UtcNow)),
                ("$workflow", submission.Workflow), ("$yaml", submission.Yaml), ("$inputs", submission.InputsJson),
                ("$key", submission.IdempotencyKey));
            insert.ExecuteNonQuery();
            return (QueryOne(connection, "id = $id", ("$id", id))!, true);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <inheritdoc />
    public Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        using var connection = Open();
        return Task.FromResult(QueryOne(connection, "id = $id", ("$id", id)));
    }

    /// <inheritdoc />
    public Task<RunPage> ListAsync(RunState? status, int offset, int limit, CancellationToken cancellationToken)
    {
        using var connection = Open();
        var where = status is null ? "1 = 1" : "status = $status";
        var parameters = status is { } s ? new (string, object?)[] { ("$status", s.Name()) } : [];
        using var count = connection.CreateCommand();
        count.CommandText = $"SELECT COUNT(*) FROM runs WHERE {where}";
        Bind(count, parameters);
        var total = Convert.ToInt32(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        var runs = Query(connection, $"{where} ORDER BY seq DESC LIMIT $limit OFFSET $offset",
            [.. parameters, ("$limit", limit), ("$offset", offset)]);
        return Task.FromResult(new RunPage(runs, total));
    }

    /// <inheritdoc />
    public async Task<RunRecord?> ClaimNextAsync(CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            using var connection = Open();
            using var claim = connection.CreateCommand();
            claim.CommandText = $"""
                UPDATE runs SET status = 'running', started = $now, attempts = attempts + 1
                WHERE seq = (SELECT seq FROM runs WHERE status = 'queued' ORDER BY priority DESC, seq LIMIT 1)
                RETURNING {Columns}
                """;
            Bind(claim, ("$now", Time(DateTimeOffset.UtcNow)));
            using var reader = claim.ExecuteReader();
            return reader.Read() ? Read(reader) : null;
        }
        finally
        {
            _write.Release();
        }
    }

    /// <inheritdoc />
    public Task FinishAsync(string id, RunFinish finish, CancellationToken cancellationToken) =>
        WriteAsync("""
            UPDATE runs SET status = $status, finished = $now, nodes = $nodes, outputs = $outputs, error = $error
            WHERE id = $id AND status = 'running'
            """, cancellationToken,
            ("$id", id), ("$status", finish.Status.Name()), ("$now", Time(DateTimeOffset.UtcNow)),
            ("$nodes", finish.NodesJson), ("$outputs", finish.OutputsJson), ("$error", finish.Error));

    /// <inheritdoc />
    public Task RequeueAsync(string id, CancellationToken cancellationToken) =>
        WriteAsync("UPDATE runs SET status = 'queued', started = NULL, attempts = MAX(attempts - 1, 0) WHERE id = $id AND status = 'running'",
            cancellationToken, ("$id", id));

    /// <inheritdoc />
    public async Task<bool> CancelQueuedAsync(string id, CancellationToken cancellationToken) =>
        await WriteAsync("UPDATE runs SET status = 'cancelled', finished = $now WHERE id = $id AND status = 'queued'",
            cancellationToken, ("$id", id), ("$now", Time(DateTimeOffset.UtcNow))) == 1;

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        await WriteAsync("DELETE FROM runs WHERE id = $id AND status NOT IN ('queued', 'running')", cancellationToken, ("$id", id)) == 1;

    /// <inheritdoc />
    public async Task<RecoveryResult> RecoverAsync(CancellationToken cancellationToken)
    {
        var interrupted = await WriteAsync(
            "UPDATE runs SET status = 'interrupted', finished = $now, error = 'interrupted twice by a host crash; not retried' WHERE status = 'running' AND attempts >= 2",
            cancellationToken, ("$now", Time(DateTimeOffset.UtcNow)));
        var requeued = await WriteAsync("UPDATE runs SET status = 'queued', started = NULL WHERE status = 'running'", cancellationToken);
        return new RecoveryResult(requeued, interrupted);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> PruneAsync(DateTimeOffset? finishedBefore, int? keepNewest, CancellationToken cancellationToken)
    {
        if (finishedBefore is null && keepNewest is null) return [];
        await _write.WaitAsync(cancellationToken);
        try
        {
            using var connection = Open();
            using var prune = connection.CreateCommand();
            // Times are stored as UTC round-trip strings, so text order is time order.
            prune.CommandText = """
                DELETE FROM runs WHERE status NOT IN ('queued', 'running') AND (
                    ($before IS NOT NULL AND COALESCE(finished, submitted) < $before) OR
                    ($keep IS NOT NULL AND seq NOT IN (
                        SELECT seq FROM runs WHERE status NOT IN ('queued', 'running') ORDER BY seq DESC LIMIT $keep)))
                RETURNING id
                """;
            Bind(prune, ("$before", finishedBefore is { } before ? Time(before.ToUniversalTime()) : null), ("$keep", keepNewest));
            using var reader = prune.ExecuteReader();
            var ids = new List<string>();
            while (reader.Read()) ids.Add(reader.GetString(0));
            return ids;
        }
        finally
        {
            _write.Release();
        }
    }

    private async Task<int> WriteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            using var connection = Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            Bind(command, parameters);
            return command.ExecuteNonQuery();
        }
        finally
        {
            _write.Release();
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA busy_timeout = 5000;");
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static RunRecord? QueryOne(SqliteConnection connection, string where, params (string Name, object? Value)[] parameters) =>
        Query(connection, where, parameters).FirstOrDefault();

    private static List<RunRecord> Query(SqliteConnection connection, string where, (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM runs WHERE {where}";
        Bind(command, parameters);
        using var reader = command.ExecuteReader();
        var runs = new List<RunRecord>();
        while (reader.Read()) runs.Add(Read(reader));
        return runs;
    }

    private static RunRecord Read(SqliteDataReader r) => new(
        r.GetString(0),
        RunStates.Parse(r.GetString(1)) ?? RunState.Failed,
        r.GetInt32(2),
        ParseTime(r.GetString(3)),
        r.IsDBNull(4) ? null : ParseTime(r.GetString(4)),
        r.IsDBNull(5) ? null : ParseTime(r.GetString(5)),
        Text(r, 6),
        r.GetString(7),
        r.GetString(8),
        Text(r, 9),
        Text(r, 10),
        Text(r, 11),
        Text(r, 12),
        r.GetInt32(13));

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static void Bind(SqliteCommand command, params (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
    }

    private static string Time(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
