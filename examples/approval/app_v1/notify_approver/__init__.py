"""Tell the approver (a real app sends an email or chat message, keyed by the request)."""


def main(request: dict) -> str:
    return f"approver notified about {request.get('request_id')}"
