using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace FlowDiffusion.Server.Runs;

/// <summary>
/// The run queue and history in one SQLite file (WAL journal, so readers never wait for the dispatcher).
/// Queue order is <c>priority DESC, seq ASC</c>: <c>seq</c> is the insertion order, which survives restarts.
/// </summary>
public sealed class SqliteRunStore : IRunStore
{
    private const string Columns =
        "id, status, priority, submitted, started, finished, workflow, yaml, inputs, nodes, outputs, error, idempotency_key, attempts, " +
        "lease_owner, lease_expires, cancel_requested, length(inputs), targets";

    // The run row a lease names, while that lease is its current one.
    private const string HeldBy = "id = $id AND status = 'running' AND attempts = $attempt AND lease_owner = $owner";

    private readonly string _path;

    private readonly string _connectionString;

    // SQLite allows one writer; serialising here avoids busy retries between the API and the dispatcher.
    private readonly SemaphoreSlim _write = new(1, 1);

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/>.</summary>
    public SqliteRunStore(string path)
    {
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        Guarded(() => Create());
    }

    /// <summary>The database file.</summary>
    public string DatabasePath => _path;

    private bool Create()
    {
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
        // Databases from before leases gain their columns; a fresh one gets them here too.
        var columns = new HashSet<string>(StringComparer.Ordinal);
        using (var info = connection.CreateCommand())
        {
            info.CommandText = "PRAGMA table_info(runs)";
            using var reader = info.ExecuteReader();
            while (reader.Read()) columns.Add(reader.GetString(1));
        }
        foreach (var (name, type) in new[] { ("lease_owner", "TEXT"), ("lease_expires", "TEXT"), ("cancel_requested", "INTEGER NOT NULL DEFAULT 0"), ("targets", "TEXT") })
        {
            if (!columns.Contains(name)) Execute(connection, $"ALTER TABLE runs ADD COLUMN {name} {type}");
        }
        return true;
    }

    /// <inheritdoc />
    public Task CheckAsync(CancellationToken cancellationToken) =>
        Guarded(() =>
        {
            using var connection = Open();
            using var check = connection.CreateCommand();
            // quick_check reads every page (not the index cross-checks of integrity_check): what a damaged page breaks.
            check.CommandText = "PRAGMA quick_check(1)";
            var result = check.ExecuteScalar() as string;
            if (result != "ok") throw new RunStoreDamagedException(_path, "integrity check: " + result);
            return Task.CompletedTask;
        });

    /// <inheritdoc />
    public Task<(RunRecord Run, bool Created)> AddAsync(RunSubmission submission, CancellationToken cancellationToken) =>
        Guarded(() => Add(submission, cancellationToken));

    private async Task<(RunRecord Run, bool Created)> Add(RunSubmission submission, CancellationToken cancellationToken)
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
                INSERT INTO runs (id, status, priority, submitted, workflow, yaml, inputs, idempotency_key, targets)
                VALUES ($id, 'queued', $priority, $submitted, $workflow, $yaml, $inputs, $key, $targets)
                """;
            Bind(insert, ("$id", id), ("$priority", submission.Priority), ("$submitted", Time(DateTimeOffset.UtcNow)),
                ("$workflow", submission.Workflow), ("$yaml", submission.Yaml), ("$inputs", submission.InputsJson),
                ("$key", submission.IdempotencyKey),
                ("$targets", submission.Targets is { Count: > 0 } targets ? JsonSerializer.Serialize(targets) : null));
            insert.ExecuteNonQuery();
            return (QueryOne(connection, "id = $id", ("$id", id))!, true);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <inheritdoc />
    public Task<RunRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        Guarded(() =>
        {
            using var connection = Open();
            return Task.FromResult(QueryOne(connection, "id = $id", ("$id", id)));
        });

    /// <inheritdoc />
    public Task<RunPage> ListAsync(RunState? status, int offset, int limit, CancellationToken cancellationToken, int maxInputsChars = 4096) =>
        Guarded(() => List(status, offset, limit, maxInputsChars));

    private Task<RunPage> List(RunState? status, int offset, int limit, int maxInputsChars)
    {
        using var connection = Open();
        var where = status is null ? "1 = 1" : "status = $status";
        var parameters = status is { } s ? new (string, object?)[] { ("$status", s.Name()) } : [];
        using var count = connection.CreateCommand();
        count.CommandText = $"SELECT COUNT(*) FROM runs WHERE {where}";
        Bind(count, parameters);
        var total = Convert.ToInt32(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        // A page never reads the workflow text, nor inputs beyond the bound: a page of runs with megabyte prompts stays small.
        var columns = Columns.Replace("yaml, inputs,", "'' AS yaml, CASE WHEN length(inputs) <= $maxInputs THEN inputs END,", StringComparison.Ordinal);
        var runs = Query(connection, $"{where} ORDER BY seq DESC LIMIT $limit OFFSET $offset",
            [.. parameters, ("$limit", limit), ("$offset", offset), ("$maxInputs", maxInputsChars)], columns);
        return Task.FromResult(new RunPage(runs, total));
    }

    /// <inheritdoc />
    public Task<RunRecord?> ClaimNextAsync(string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            await _write.WaitAsync(cancellationToken);
            try
            {
                using var connection = Open();
                using var claim = connection.CreateCommand();
                // One statement: SQLite runs it under its write lock, so two processes on one file never both take a run.
                claim.CommandText = $"""
                    UPDATE runs SET status = 'running', started = $now, attempts = attempts + 1,
                        lease_owner = $owner, lease_expires = $expires, cancel_requested = 0
                    WHERE seq = (SELECT seq FROM runs WHERE status = 'queued' ORDER BY priority DESC, seq LIMIT 1) AND status = 'queued'
                    RETURNING {Columns}
                    """;
                var now = DateTimeOffset.UtcNow;
                Bind(claim, ("$now", Time(now)), ("$owner", owner), ("$expires", Time(now + leaseDuration)));
                using var reader = claim.ExecuteReader();
                return reader.Read() ? Read(reader) : null;
            }
            finally
            {
                _write.Release();
            }
        });

    /// <inheritdoc />
    public Task<RunRecord?> ClaimAsync(string id, string owner, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            await _write.WaitAsync(cancellationToken);
            try
            {
                using var connection = Open();
                using var claim = connection.CreateCommand();
                claim.CommandText = $"""
                    UPDATE runs SET status = 'running', started = $now, attempts = attempts + 1,
                        lease_owner = $owner, lease_expires = $expires, cancel_requested = 0
                    WHERE id = $id AND status = 'queued'
                    RETURNING {Columns}
                    """;
                var now = DateTimeOffset.UtcNow;
                Bind(claim, ("$id", id), ("$now", Time(now)), ("$owner", owner), ("$expires", Time(now + leaseDuration)));
                using var reader = claim.ExecuteReader();
                return reader.Read() ? Read(reader) : null;
            }
            finally
            {
                _write.Release();
            }
        });

    /// <inheritdoc />
    public async Task<RunState?> AbandonAsync(RunLease lease, int maxAttempts, string reason, CancellationToken cancellationToken)
    {
        if (await WriteAsync($"""
                UPDATE runs SET status = 'failed', finished = $now, error = $reason, lease_owner = NULL, lease_expires = NULL
                WHERE {HeldBy} AND attempts >= $max
                """, cancellationToken,
                [("$now", Time(DateTimeOffset.UtcNow)), ("$max", maxAttempts),
                 ("$reason", $"{reason} on attempt {lease.Attempt} of {maxAttempts}; not retried"), .. LeaseParameters(lease)]) == 1)
            return RunState.Failed;
        return await WriteAsync($"UPDATE runs SET status = 'queued', started = NULL, lease_owner = NULL, lease_expires = NULL WHERE {HeldBy}",
            cancellationToken, LeaseParameters(lease)) == 1 ? RunState.Queued : null;
    }

    /// <inheritdoc />
    public Task<LeaseRenewal> RenewAsync(RunLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            await _write.WaitAsync(cancellationToken);
            try
            {
                using var connection = Open();
                using var renew = connection.CreateCommand();
                renew.CommandText = $"UPDATE runs SET lease_expires = $expires WHERE {HeldBy} RETURNING cancel_requested";
                Bind(renew, [("$expires", Time(DateTimeOffset.UtcNow + leaseDuration)), .. LeaseParameters(lease)]);
                var cancel = renew.ExecuteScalar();
                return cancel is null ? LeaseRenewal.Lost : Convert.ToInt64(cancel, CultureInfo.InvariantCulture) != 0 ? LeaseRenewal.CancelRequested : LeaseRenewal.Held;
            }
            finally
            {
                _write.Release();
            }
        });

    /// <inheritdoc />
    public async Task<bool> FinishAsync(RunLease lease, RunFinish finish, CancellationToken cancellationToken) =>
        await WriteAsync($"""
            UPDATE runs SET status = $status, finished = $now, nodes = $nodes, outputs = $outputs, error = $error,
                lease_owner = NULL, lease_expires = NULL
            WHERE {HeldBy}
            """, cancellationToken,
            [("$status", finish.Status.Name()), ("$now", Time(DateTimeOffset.UtcNow)),
             ("$nodes", finish.NodesJson), ("$outputs", finish.OutputsJson), ("$error", finish.Error), .. LeaseParameters(lease)]) == 1;

    /// <inheritdoc />
    public async Task<bool> RequeueAsync(RunLease lease, CancellationToken cancellationToken) =>
        await WriteAsync($"""
            UPDATE runs SET status = 'queued', started = NULL, attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_expires = NULL
            WHERE {HeldBy}
            """, cancellationToken, LeaseParameters(lease)) == 1;

    /// <inheritdoc />
    public async Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellationToken)
    {
        var now = Time(DateTimeOffset.UtcNow);
        if (await WriteAsync("UPDATE runs SET status = 'cancelled', finished = $now WHERE id = $id AND status = 'queued'",
                cancellationToken, ("$id", id), ("$now", now)) == 1) return CancelOutcome.Cancelled;
        return await WriteAsync("UPDATE runs SET cancel_requested = 1 WHERE id = $id AND status = 'running'", cancellationToken, ("$id", id)) == 1
            ? CancelOutcome.Requested
            : CancelOutcome.NotActive;
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        await WriteAsync("DELETE FROM runs WHERE id = $id AND status NOT IN ('queued', 'running')", cancellationToken, ("$id", id)) == 1;

    /// <inheritdoc />
    public async Task<RecoveryResult> RecoverAsync(CancellationToken cancellationToken)
    {
        var interrupted = await WriteAsync(
            "UPDATE runs SET status = 'interrupted', finished = $now, error = 'interrupted twice by a host crash; not retried', lease_owner = NULL, lease_expires = NULL " +
            "WHERE status = 'running' AND attempts >= 2",
            cancellationToken, ("$now", Time(DateTimeOffset.UtcNow)));
        var requeued = await WriteAsync("UPDATE runs SET status = 'queued', started = NULL, lease_owner = NULL, lease_expires = NULL WHERE status = 'running'", cancellationToken);
        return new RecoveryResult(requeued, interrupted);
    }

    /// <inheritdoc />
    public async Task<RecoveryResult> ReclaimExpiredAsync(DateTimeOffset now, int maxAttempts, CancellationToken cancellationToken)
    {
        var at = Time(now.ToUniversalTime());
        var interrupted = await ExpireAsync("status = 'running' AND lease_expires < $now AND attempts >= $max",
            "status = 'interrupted', finished = $now, lease_owner = NULL, lease_expires = NULL, " +
            "error = 'its worker stopped answering (lease of ' || lease_owner || ' expired) on attempt ' || attempts || ' of ' || $max || '; not retried'",
            cancellationToken, ("$now", at), ("$max", maxAttempts));
        var requeued = await ExpireAsync("status = 'running' AND lease_expires < $now",
            "status = 'queued', started = NULL, lease_owner = NULL, lease_expires = NULL",
            cancellationToken, ("$now", at));
        return new RecoveryResult(requeued.Count, interrupted.Count) { RequeuedLeases = requeued, InterruptedLeases = interrupted };
    }

    // Reads the leases that match, then updates exactly those rows, in one write transaction: what is reported is what changed.
    private Task<IReadOnlyList<RunLease>> ExpireAsync(string where, string set, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        Guarded(async () =>
        {
            await _write.WaitAsync(cancellationToken);
            try
            {
                using var connection = Open();
                using var transaction = connection.BeginTransaction(deferred: false);
                var leases = new List<RunLease>();
                using (var select = connection.CreateCommand())
                {
                    select.Transaction = transaction;
                    select.CommandText = $"SELECT id, attempts, lease_owner, lease_expires FROM runs WHERE {where}";
                    Bind(select, parameters);
                    using var reader = select.ExecuteReader();
                    while (reader.Read())
                        leases.Add(new RunLease(reader.GetString(0), reader.GetInt32(1), Text(reader, 2) ?? "", ParseTime(reader.GetString(3))));
                }
                using (var update = connection.CreateCommand())
                {
                    update.Transaction = transaction;
                    update.CommandText = $"UPDATE runs SET {set} WHERE {where}";
                    Bind(update, parameters);
                    update.ExecuteNonQuery();
                }
                transaction.Commit();
                return (IReadOnlyList<RunLease>)leases;
            }
            finally
            {
                _write.Release();
            }
        });

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> PruneAsync(DateTimeOffset? finishedBefore, int? keepNewest, CancellationToken cancellationToken) =>
        Guarded(() => Prune(finishedBefore, keepNewest, cancellationToken));

    private async Task<IReadOnlyList<string>> Prune(DateTimeOffset? finishedBefore, int? keepNewest, CancellationToken cancellationToken)
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

    private static (string Name, object? Value)[] LeaseParameters(RunLease lease) =>
        [("$id", lease.RunId), ("$attempt", lease.Attempt), ("$owner", lease.Owner)];

    // SQLite's "damaged" codes become one error that names the file and the way out; others pass as they are.
    private T Guarded<T>(Func<T> body)
    {
        try
        {
            return body();
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26)
        {
            throw new RunStoreDamagedException(_path, e.Message, e);
        }
    }

    private async Task<T> Guarded<T>(Func<Task<T>> body)
    {
        try
        {
            return await body();
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26)
        {
            throw new RunStoreDamagedException(_path, e.Message, e);
        }
    }

    private Task<int> WriteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        Guarded(() => Write(sql, cancellationToken, parameters));

    private async Task<int> Write(string sql, CancellationToken cancellationToken, (string Name, object? Value)[] parameters)
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

    private static List<RunRecord> Query(SqliteConnection connection, string where, (string Name, object? Value)[] parameters, string columns = Columns)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {columns} FROM runs WHERE {where}";
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
        Text(r, 8),
        Text(r, 9),
        Text(r, 10),
        Text(r, 11),
        Text(r, 12),
        r.GetInt32(13),
        Text(r, 14),
        r.IsDBNull(15) ? null : ParseTime(r.GetString(15)),
        r.GetInt64(16) != 0,
        r.GetInt32(17),
        r.IsDBNull(18) ? null : JsonSerializer.Deserialize<string[]>(r.GetString(18)));

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static void Bind(SqliteCommand command, params (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
    }

    private static string Time(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
