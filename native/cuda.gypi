{ 'sources': [] }
