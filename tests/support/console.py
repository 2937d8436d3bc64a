# console.py - test doubles for what an app sees of the SDK: Sink, the lines a serial console
# would show (Platform.log_sink), and AnswersOk, an asyncio transport that answers every
# exchange with 200 Success.


class Sink:
    def __init__(self):
        self.lines = []

    def __call__(self, level, line):
        self.lines.append(line)

    def having(self, text):
        return [x for x in self.lines if text in x]


class AnswersOk:
    async def exchange(self, method, path, body=None, content_type=None, max_body=None):
        return 200, None, b'{"result":"Success"}'

    def close(self):
        pass
