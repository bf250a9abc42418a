"""Record the outcome of a request."""


def main(record: dict) -> str:
    return f"{record['request'].get('request_id')}: {record['outcome']}"
