"""PartiQL through boto3: every statement kind, index SELECTs, paging, parameters, document
literals, RETURNING, batches, transactions and their errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client


@pytest.fixture
def music(client, unique_name):
    name = unique_name("music")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "Artist", "KeyType": "HASH"},
                   {"AttributeName": "SongTitle", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "Artist", "AttributeType": "S"},
                              {"AttributeName": "SongTitle", "AttributeType": "S"},
                              {"AttributeName": "Genre", "AttributeType": "S"},
                              {"AttributeName": "Year", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[{"IndexName": "ByGenre",
                                 "KeySchema": [{"AttributeName": "Genre", "KeyType": "HASH"},
                                               {"AttributeName": "Year", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST")
    yield name
    client.delete_table(TableName=name)


def run(client, statement, **kw):
    return client.execute_statement(Statement=statement, **kw)


def test_insert_select_update_delete(client, music):
    t = music
    run(client, f"INSERT INTO \"{t}\" VALUE {{'Artist': 'Acme', 'SongTitle': 'One', "
                f"'Genre': 'rock', 'Year': 1999, 'Tags': <<'a', 'b'>>, 'Plays': [1, 2], "
                f"'Info': {{'label': 'X', 'live': TRUE, 'notes': NULL}}}}")
    item = client.get_item(TableName=t, Key={"Artist": {"S": "Acme"},
                                             "SongTitle": {"S": "One"}})["Item"]
    assert item["Tags"] == {"SS": ["a", "b"]}
    assert item["Plays"] == {"L": [{"N": "1"}, {"N": "2"}]}
    assert item["Info"] == {"M": {"label": {"S": "X"}, "live": {"BOOL": True},
                                  "notes": {"NULL": True}}}
    with pytest.raises(ClientError) as e:
        run(client, f"INSERT INTO \"{t}\" VALUE {{'Artist': 'Acme', 'SongTitle': 'One'}}")
    assert error_of(e) == ("DuplicateItemException", "Duplicate primary key exists in table")

    out = run(client, f"SELECT SongTitle, Info.label, Plays[1] FROM \"{t}\" WHERE Artist = ?",
              Parameters=[{"S": "Acme"}])
    assert out["Items"] == [{"SongTitle": {"S": "One"}, "label": {"S": "X"}, "Plays": {"N": "2"}}]

    run(client, f"UPDATE \"{t}\" SET Year = Year + 1 SET Tags = set_add(Tags, <<'c'>>) "
                f"SET Plays = list_append(Plays, [3]) REMOVE Info.notes "
                f"WHERE Artist = 'Acme' AND SongTitle = 'One'")
    item = client.get_item(TableName=t, Key={"Artist": {"S": "Acme"},
                                             "SongTitle": {"S": "One"}})["Item"]
    assert item["Year"] == {"N": "2000"}
    assert sorted(item["Tags"]["SS"]) == ["a", "b", "c"]
    assert len(item["Plays"]["L"]) == 3 and "notes" not in item["Info"]["M"]

    # a failing condition, with the item returned on request
    with pytest.raises(ClientError) as e:
        run(client, f"UPDATE \"{t}\" SET Genre = 'pop' WHERE Artist = 'Acme' "
                    f"AND SongTitle = 'One' AND Year < 1990",
            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert error_of(e)[0] == "ConditionalCheckFailedException"
    assert e.value.response["Item"]["Year"] == {"N": "2000"}
    # UPDATE never creates an item
    with pytest.raises(ClientError) as e:
        run(client, f"UPDATE \"{t}\" SET Genre = 'pop' WHERE Artist = 'Nobody' AND SongTitle = 'x'")
    assert error_of(e)[0] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as e:
        run(client, f"UPDATE \"{t}\" SET Genre = 'pop' WHERE Artist = 'Acme'")
    assert error_of(e) == ("ValidationException", "Where clause does not contain a mandatory "
                           "equality on all key attributes")

    out = run(client, f"UPDATE \"{t}\" SET Genre = 'jazz' WHERE Artist = 'Acme' "
                      f"AND SongTitle = 'One' RETURNING MODIFIED OLD *")
    assert out["Items"] == [{"Genre": {"S": "rock"}}]
    out = run(client, f"DELETE FROM \"{t}\" WHERE Artist = 'Acme' AND SongTitle = 'One' "
                      f"RETURNING ALL OLD *")
    assert out["Items"][0]["Genre"] == {"S": "jazz"}
    assert run(client, f"SELECT * FROM \"{t}\" WHERE Artist = 'Acme'")["Items"] == []


def test_select_plans_query_scan_and_index(client, music):
    t = music
    for i in range(12):
        client.put_item(TableName=t, Item={
            "Artist": {"S": f"a{i % 3}"}, "SongTitle": {"S": f"s{i:02d}"},
            "Genre": {"S": "rock" if i % 2 else "pop"}, "Year": {"N": str(1990 + i)}})
    # key condition on the sort key, with a filter, ordered descending
    out = run(client, f"SELECT SongTitle FROM \"{t}\" WHERE Artist = 'a0' AND "
                      f"SongTitle BETWEEN 's00' AND 's09' AND Year > 1990 ORDER BY SongTitle DESC")
    assert [i["SongTitle"]["S"] for i in out["Items"]] == ["s09", "s06", "s03"]
    out = run(client, f"SELECT * FROM \"{t}\" WHERE Artist = 'a1' AND begins_with(SongTitle, 's0')")
    assert [i["SongTitle"]["S"] for i in out["Items"]] == ["s01", "s04", "s07"]
    # no key: a scan with a filter; IN, NOT, size, IS MISSING
    out = run(client, f"SELECT SongTitle FROM \"{t}\" WHERE Year IN [1990, 1991, 2020] "
                      f"AND NOT Genre = 'rock' AND Missing IS MISSING AND size(Genre) = 3")
    assert [i["SongTitle"]["S"] for i in out["Items"]] == ["s00"]
    # the GSI
    out = run(client, f"SELECT SongTitle, Year FROM \"{t}\".\"ByGenre\" WHERE Genre = 'rock' "
                      f"AND Year >= 1995 ORDER BY Year")
    assert [i["Year"]["N"] for i in out["Items"]] == ["1995", "1997", "1999", "2001"]
    # paging: Limit evaluates that many items; NextToken resumes
    seen, token = [], None
    while True:
        kw = {"Limit": 5}
        if token:
            kw["NextToken"] = token
        page = run(client, f"SELECT SongTitle FROM \"{t}\"", **kw)
        seen += [i["SongTitle"]["S"] for i in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == [f"s{i:02d}" for i in range(12)]


def test_errors(client, music):
    with pytest.raises(ClientError) as e:
        run(client, "SELECTT * FROMM t")
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg.startswith("Statement wasn't well formed, can't be processed: ")
    with pytest.raises(ClientError) as e:
        run(client, f"SELECT * FROM \"{music}\" WHERE Artist = ?")
    assert error_of(e) == ("ValidationException",
                           "Number of parameters in request and statement don't match.")
    with pytest.raises(ClientError) as e:
        run(client, "SELECT * FROM \"no-such-table\" WHERE pk = 'x'")
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_batch_and_transaction(client, endpoint, music):
    t = music
    out = client.batch_execute_statement(Statements=[
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'Artist': 'b', 'SongTitle': '1'}}"},
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'Artist': 'b', 'SongTitle': '1'}}"},
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'Artist': 'b', 'SongTitle': '2', 'n': ?}}",
         "Parameters": [{"N": "5"}]},
    ])["Responses"]
    assert out[0] == {"TableName": t}
    assert out[1]["Error"]["Code"] == "DuplicateItem"
    assert out[2] == {"TableName": t}
    out = client.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{t}\" WHERE Artist = 'b' AND SongTitle = '2'"},
        {"Statement": f"SELECT * FROM \"{t}\" WHERE Artist = 'b' AND SongTitle = 'none'"},
        {"Statement": "SELECT * FROM \"no-such-table\" WHERE Artist = 'b' AND SongTitle = '2'"},
    ])["Responses"]
    assert out[0]["Item"]["n"] == {"N": "5"}
    assert out[1] == {"TableName": t}
    assert out[2]["Error"]["Code"] == "ResourceNotFound"

    client.execute_transaction(TransactStatements=[
        {"Statement": f"UPDATE \"{t}\" SET n = n + 1 WHERE Artist = 'b' AND SongTitle = '2'"},
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'Artist': 'b', 'SongTitle': '3'}}"},
    ], ClientRequestToken="tok-1")
    # the same token again: answered, not applied twice
    client.execute_transaction(TransactStatements=[
        {"Statement": f"UPDATE \"{t}\" SET n = n + 1 WHERE Artist = 'b' AND SongTitle = '2'"},
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'Artist': 'b', 'SongTitle': '3'}}"},
    ], ClientRequestToken="tok-1")
    got = client.execute_transaction(TransactStatements=[
        {"Statement": f"SELECT n FROM \"{t}\" WHERE Artist = 'b' AND SongTitle = '2'"},
        {"Statement": f"SELECT * FROM \"{t}\" WHERE Artist = 'b' AND SongTitle = '3'"},
    ])["Responses"]
    assert got[0]["Item"] == {"n": {"N": "6"}}
    assert got[1]["Item"]["SongTitle"] == {"S": "3"}
    with pytest.raises(ClientError) as e:
        client.execute_transaction(TransactStatements=[
            {"Statement": f"UPDATE \"{t}\" SET n = 0 WHERE Artist = 'b' AND SongTitle = '2'"},
            {"Statement": f"INSERT INTO \"{t}\" VALUE {{'Artist': 'b', 'SongTitle': '3'}}"},
        ])
    assert error_of(e)[0] == "TransactionCanceledException"
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "DuplicateItem"]
    assert client.get_item(TableName=t, Key={"Artist": {"S": "b"}, "SongTitle": {"S": "2"}})[
        "Item"]["n"] == {"N": "6"}
    raw = make_client(endpoint, parameter_validation=False)
    with pytest.raises(ClientError) as e:
        raw.execute_transaction(TransactStatements=[])
    assert error_of(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        raw.batch_execute_statement(Statements=[])
    assert error_of(e)[0] == "ValidationException"


def test_messages_recorded_from_dynamodb(client, endpoint, music):
    t = music
    client.put_item(TableName=t, Item={"Artist": {"S": "m"}, "SongTitle": {"S": "1"},
                                       "v": {"S": "here"}})
    with pytest.raises(ClientError) as e:
        run(client, f"SLECT * FROM \"{t}\"")
    assert error_of(e) == ("ValidationException",
                           "Statement wasn't well formed, can't be processed: "
                           "Expected data manipulation")
    with pytest.raises(ClientError) as e:
        run(client, f"SELECT * FROM \"{t}\" WHERE Artist = 'm' AND attribute_exists('v')")
    assert error_of(e) == ("ValidationException", "Operator or function requires a document "
                           "path; operator or function: attribute_exists")
    with pytest.raises(ClientError) as e:
        run(client, f"SELECT * FROM \"{t}\" WHERE Artist = 'm' AND attribute_exists(v, w)")
    assert error_of(e)[1] == ("Incorrect number of operands for operator or function; "
                              "operator or function: attribute_exists, number of operands: 2")
    with pytest.raises(ClientError) as e:
        run(client, f"DELETE FROM \"{t}\" WHERE Artist = 'm' AND SongTitle = '1' "
                    f"RETURNING MODIFIED OLD *")
    assert error_of(e)[1] == ("Invalid returning clause: RETURNING MODIFIED OLD *. "
                              "Only RETURNING ALL OLD * is allowed in DELETE statements.")
    out = client.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{t}\" WHERE v = 'here'"},
        {"Statement": f"SELECT * FROM \"{t}\" WHERE Artist = 'm' AND SongTitle = '1'",
         "ConsistentRead": True},
    ], ReturnConsumedCapacity="TOTAL")
    r = out["Responses"]
    assert r[0] == {"Error": {"Code": "ValidationError", "Message": "Select statements within "
                              "BatchExecuteStatement must specify the primary key in the "
                              "where clause."}}
    assert r[1]["Item"]["v"] == {"S": "here"}
    assert out["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 1.0}]
    # a member that ran and failed echoes its table; ReturnValuesOnConditionCheckFailure is inert
    out = client.batch_execute_statement(Statements=[
        {"Statement": f"UPDATE \"{t}\" SET w = 1 WHERE Artist = 'm' AND SongTitle = '1' "
                      f"AND v = 'wrong'", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}])
    assert out["Responses"][0]["TableName"] == t
    assert out["Responses"][0]["Error"]["Code"] == "ConditionalCheckFailed"
    assert "Item" not in out["Responses"][0]["Error"]
    with pytest.raises(ClientError) as e:
        client.execute_transaction(TransactStatements=[
            {"Statement": f"SELECT * FROM \"{t}\" WHERE Artist = 'm'"}])
    assert error_of(e)[1] == ("Validation failed in TransactStatements[0]: Select statements "
                              "within ExecuteTransaction must specify the primary key in the "
                              "where clause.")
    # a full-key SELECT is a GetItem: half a unit when eventually consistent
    out = run(client, f"SELECT v FROM \"{t}\" WHERE Artist = 'm' AND SongTitle = '1'",
              ReturnConsumedCapacity="TOTAL")
    assert out["Items"] == [{"v": {"S": "here"}}]
    assert out["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_function_messages_with_positions(client, music):
    t = music

    def msg(statement):
        with pytest.raises(ClientError) as e:
            run(client, statement)
        code, m = error_of(e)
        assert code == "ValidationException"
        return m

    def at(statement, token, length=None, start=0):
        i = statement.index(token, start)
        return f"1:{i + 1}:{length or len(token)}"

    s = f"SELECT * FROM \"{t}\" WHERE Artist = 'm' AND EXISTS(ss)"
    assert msg(s) == f"Unrecognized function: exists at {at(s, 'EXISTS')}"
    s = f"UPDATE \"{t}\" SET x = set_add(ss, <<'x'>>) WHERE Artist = 'm' AND SongTitle = '1'"
    assert msg(s) == f"The first argument to SET_ADD must equal the assignment value at {at(s, 'set_add')}"
    s = f"UPDATE \"{t}\" SET ss = set_add(ss, 'x') WHERE Artist = 'm' AND SongTitle = '1'"
    assert msg(s) == ("The second argument to SET_ADD must be a value with type SET at "
                      f"{at(s, 'ss', 2, s.index('set_add('))}")
    s = f"UPDATE \"{t}\" SET ss = set_delete(ss) WHERE Artist = 'm' AND SongTitle = '1'"
    assert msg(s) == f"SET_DELETE must have exactly two arguments at {at(s, 'set_delete')}"
    s = f"UPDATE \"{t}\" SET ss = set_add(ss, <<>>) WHERE Artist = 'm' AND SongTitle = '1'"
    assert msg(s) == "Empty bags are not supported"


def test_partiql_writes_reach_the_stream(client, endpoint, unique_name):
    from test_streams import read_all, streams_client

    t = unique_name("pqs")
    client.create_table(TableName=t, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST",
                        StreamSpecification={"StreamEnabled": True,
                                             "StreamViewType": "NEW_AND_OLD_IMAGES"})
    try:
        run(client, f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'n': 1}}")
        run(client, f"UPDATE \"{t}\" SET n = n + 1 WHERE pk = 'a'")
        client.execute_transaction(TransactStatements=[
            {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'b'}}"}])
        run(client, f"DELETE FROM \"{t}\" WHERE pk = 'a'")
        arn = client.describe_table(TableName=t)["Table"]["LatestStreamArn"]
        recs = read_all(streams_client(endpoint), arn)
        assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in recs] == [
            ("INSERT", "a"), ("MODIFY", "a"), ("INSERT", "b"), ("REMOVE", "a")]
        assert recs[1]["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    finally:
        client.delete_table(TableName=t)
